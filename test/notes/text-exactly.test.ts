import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let api: TestApi;
let alice: string;
beforeAll(async () => {
  issuer = await startTestIssuer();
  api = await startApi(issuer);
  alice = await issuer.mint();
});
afterAll(async () => {
  await api.close();
  await issuer.close();
});

/** Sends a JSON body exactly as given (text or bytes), so that escapes and invalid bytes reach the API untouched. */
const asIs = ((body: string | Buffer) => body) as unknown as (body: unknown) => string;
const postRaw = (body: string | Buffer) =>
  api.request().post('/v1/notes').auth(alice, { type: 'bearer' }).set('Content-Type', 'application/json').serialize(asIs).send(body);
const patchRaw = (id: string, body: string | Buffer) =>
  api
    .request()
    .patch(`/v1/notes/${id}`)
    .auth(alice, { type: 'bearer' })
    .set('Content-Type', 'application/merge-patch+json')
    .serialize(asIs)
    .send(body);

async function createNote(note: { title: string; body?: string }) {
  const res = await api.request().post('/v1/notes').auth(alice, { type: 'bearer' }).send(note);
  expect(res.status).toBe(201);
  return res.body as { id: string; title: string; body: string };
}

async function readBack(id: string) {
  const res = await api.request().get(`/v1/notes/${id}`).auth(alice, { type: 'bearer' });
  expect(res.status).toBe(200);
  return res.body as { title: string; body: string };
}

function expectRefused(res: { status: number; body: Record<string, unknown> }, errors: { pointer: string; detail: RegExp }[]) {
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:validation-failed', status: 400 });
  expect(res.body.errors).toEqual(errors.map(({ pointer, detail }) => ({ pointer, detail: expect.stringMatching(detail) })));
}

const NOT_UNICODE = /well-formed Unicode/;
const CONTROL = /control characters/;

describe('POST and PATCH /v1/notes: text is stored exactly, or refused', () => {
  it.each([
    ['emoji (with a skin tone and a ZWJ family)', '👍🏽 👨‍👩‍👧‍👦 🎉'],
    ['combining marks (e + U+0301, not precomposed é)', 'Cafe\u0301 n\u0303 Å'],
    ['right-to-left text with an embedding mark', 'שלום \u202Bمرحبا\u202C עולם'],
    ['tab, line feed and carriage return', 'a\tb\r\nc'],
    ['characters beyond the BMP and U+FFFD itself', '𝄞 𠜎 \uFFFD'],
  ])('when the title holds %s, then it reads back byte for byte', async (_what, text) => {
    const note = await createNote({ title: text, body: `${text}\n${text}` });
    const stored = await readBack(note.id);
    expect(Buffer.from(stored.title, 'utf8').equals(Buffer.from(text, 'utf8'))).toBe(true);
    expect(Buffer.from(stored.body, 'utf8').equals(Buffer.from(`${text}\n${text}`, 'utf8'))).toBe(true);
  });

  it('when title and body are the longest allowed (200 and 10,000 code points, astral ones included), then both read back exactly', async () => {
    const title = '😀'.repeat(100) + 'x'.repeat(99) + 'é';
    const body = 'a'.repeat(8_000) + '👍🏽'.repeat(500) + 'ש'.repeat(999) + '\u0301';
    expect([...title]).toHaveLength(200);
    expect([...body]).toHaveLength(10_000);
    const note = await createNote({ title, body });
    const stored = await readBack(note.id);
    expect(stored.title).toBe(title);
    expect(stored.body).toBe(body);
    expectRefused(await postRaw(JSON.stringify({ title: `${title}x` })), [{ pointer: '#/title', detail: /1 to 200/ }]);
  });

  it('when the title holds a lone surrogate (JSON escape "a\\ud800"), then 400 validation-failed naming it (was 201, read back as U+FFFD)', async () => {
    expectRefused(await postRaw('{"title":"a\\ud800"}'), [{ pointer: '#/title', detail: NOT_UNICODE }]);
  });

  it('when both fields hold lone surrogates (a low one alone, a high one at the end), then each is named', async () => {
    expectRefused(await postRaw('{"title":"\\udc00x","body":"ok\\ud83d"}'), [
      { pointer: '#/title', detail: NOT_UNICODE },
      { pointer: '#/body', detail: NOT_UNICODE },
    ]);
  });

  it('when the body is not UTF-8 (raw byte 0xFF in the title), then 400 naming the field, not a title turned into U+FFFD', async () => {
    const bytes = Buffer.concat([Buffer.from('{"title":"a'), Buffer.from([0xff]), Buffer.from('","body":"fine"}')]);
    expectRefused(await postRaw(bytes), [{ pointer: '#/title', detail: NOT_UNICODE }]);
  });

  it('when a UTF-8 sequence is cut short or overlong in the body field, then 400 naming it', async () => {
    const truncated = Buffer.concat([Buffer.from('{"title":"t","body":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]);
    expectRefused(await postRaw(truncated), [{ pointer: '#/body', detail: NOT_UNICODE }]);
    const overlong = Buffer.concat([Buffer.from('{"title":"t","body":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]);
    expectRefused(await postRaw(overlong), [{ pointer: '#/body', detail: NOT_UNICODE }]);
  });

  it.each([
    ['NUL', '\\u0000'],
    ['ESC', '\\u001b'],
    ['DEL', '\\u007f'],
    ['a C1 control (U+0085)', '\\u0085'],
    ['vertical tab', '\\u000b'],
  ])('when the title holds %s, then 400 validation-failed naming it', async (_what, escape) => {
    expectRefused(await postRaw(`{"title":"bad${escape}title"}`), [{ pointer: '#/title', detail: CONTROL }]);
  });

  it('when the body holds control characters, then they are kept: only the title refuses them', async () => {
    const body = 'bell\u0007 nul\u0000 esc\u001b[0m del\u007f';
    const note = await createNote({ title: 'controls in the body', body });
    expect((await readBack(note.id)).body).toBe(body);
  });

  it('when a PATCH brings a lone surrogate or a control character, then 400 naming each field and the note is unchanged', async () => {
    const note = await createNote({ title: 'before', body: 'kept' });
    expectRefused(await patchRaw(note.id, '{"title":"x\\u0007","body":"\\udfff"}'), [
      { pointer: '#/title', detail: CONTROL },
      { pointer: '#/body', detail: NOT_UNICODE },
    ]);
    const bytes = Buffer.concat([Buffer.from('{"body":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
    expectRefused(await patchRaw(note.id, bytes), [{ pointer: '#/body', detail: NOT_UNICODE }]);
    expect(await readBack(note.id)).toMatchObject({ title: 'before', body: 'kept' });
  });
});
