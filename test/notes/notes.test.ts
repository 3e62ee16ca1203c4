import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { backends, startApi, type TestApi } from '../support/api.js';
import { BOB, buildNote } from '../support/factories.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';
import { readStoredNote } from '../support/stored-notes.js';

// The behaviour suite: the same tests against each storage engine.
describe.each(backends)('notes on %s', (backend) => {
  let issuer: TestIssuer;
  let api: TestApi;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    issuer = await startTestIssuer();
    api = await startApi(issuer, {}, backend);
    alice = await issuer.mint();
    bob = await issuer.mint(BOB);
  });
  afterAll(async () => {
    await api.close();
    await issuer.close();
  });

  const as = (token: string) => ({
    get: (path: string) => api.request().get(path).auth(token, { type: 'bearer' }),
    post: (path: string, body?: unknown) => api.request().post(path).auth(token, { type: 'bearer' }).send(body as object),
    patch: (path: string, body?: unknown) => api.request().patch(path).auth(token, { type: 'bearer' }).send(body as object),
    delete: (path: string) => api.request().delete(path).auth(token, { type: 'bearer' }),
  });

  async function createNote(token: string, overrides: Record<string, unknown> = {}) {
    const res = await as(token).post('/v1/notes', buildNote(overrides));
    expect(res.status).toBe(201);
    return res.body as { id: string; title: string; body: string; created_at: string; updated_at: string };
  }

  describe('POST /v1/notes', () => {
    it('when the note is valid, then 201 with Location, ETag and the stored note', async () => {
      const res = await as(alice).post('/v1/notes', { title: 'First', body: 'Hello' });
      expect(res.status).toBe(201);
      expect(res.headers.location).toBe(`/v1/notes/${res.body.id}`);
      expect(res.headers.etag).toMatch(/^"v1"$/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        title: 'First',
        body: 'Hello',
        created_at: expect.any(String),
        updated_at: res.body.created_at,
      });
      const stored = await as(alice).get(res.headers.location!);
      expect(stored.body).toEqual(res.body);
    });

    it('when body is left out, then it is stored as an empty string', async () => {
      const res = await as(alice).post('/v1/notes', { title: 'Only a title' });
      expect(res.status).toBe(201);
      expect(res.body.body).toBe('');
    });

    it('when the title is 200 characters of emoji, then it is accepted (characters, not bytes)', async () => {
      const res = await as(alice).post('/v1/notes', { title: '📝'.repeat(200) });
      expect(res.status).toBe(201);
    });

    it('when several fields are wrong, then 400 listing each of them', async () => {
      const res = await as(alice).post('/v1/notes', { title: '', body: 'x'.repeat(10_001), colour: 'red' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:validation-failed', status: 400 });
      expect(res.body.errors).toEqual(
        expect.arrayContaining([
          { pointer: '#/title', detail: expect.any(String) },
          { pointer: '#/body', detail: expect.any(String) },
          { pointer: '#/colour', detail: 'is not a field of this resource' },
        ]),
      );
    });

    it.each([
      [{ title: 'x'.repeat(201) }, '#/title'],
      [{ title: '   ' }, '#/title'],
      [{ title: 42 }, '#/title'],
      [{}, '#/title'],
      [{ title: 'ok', body: null }, '#/body'],
    ])('when the body is %j, then 400 pointing at %s', async (body, pointer) => {
      const res = await as(alice).post('/v1/notes', body);
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    });

    it('when the JSON is an array, then 400', async () => {
      const res = await as(alice).post('/v1/notes', [1, 2]);
      expect(res.status).toBe(400);
      expect(res.body.errors[0].pointer).toBe('#');
    });

    it('when the JSON is malformed, then 400 malformed-json', async () => {
      const res = await api.request().post('/v1/notes').auth(alice, { type: 'bearer' }).type('json').send('{"title": ');
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:malformed-json', status: 400 });
    });

    it('when the body is over 16 KiB, then 413', async () => {
      const res = await as(alice).post('/v1/notes', { title: 'big', body: 'x'.repeat(17 * 1024) });
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ type: 'about:blank', status: 413 });
    });

    it('when the body is not JSON, then 415', async () => {
      const res = await api.request().post('/v1/notes').auth(alice, { type: 'bearer' }).type('text/plain').send('title=x');
      expect(res.status).toBe(415);
      expect(res.body).toMatchObject({ status: 415, title: 'Unsupported Media Type' });
    });

    it('when the body is sent without a token, then 401 and the body is not read', async () => {
      const res = await api.request().post('/v1/notes').type('json').send('{"title": ');
      expect(res.status).toBe(401);
    });

    it('when the write is acknowledged, then another connection to the database reads it', async () => {
      const note = await createNote(alice, { title: 'durable' });
      expect(await readStoredNote(api, note.id)).toEqual({ owner: 'auth0|alice', title: 'durable' });
    });
  });

  describe('GET /v1/notes', () => {
    let carol: string;
    beforeAll(async () => {
      carol = await issuer.mint({ sub: 'auth0|carol' });
      for (let i = 1; i <= 25; i++) await createNote(carol, { title: `note ${i}` });
    });

    it('when the user has 25 notes, then the first page has the 20 newest and a cursor', async () => {
      const res = await as(carol).get('/v1/notes');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.items).toHaveLength(20);
      expect(res.body.items[0].title).toBe('note 25');
      expect(res.body.items[19].title).toBe('note 6');
      expect(typeof res.body.next_cursor).toBe('string');
    });

    it('when the cursor is followed, then the rest come with no repeats and no next cursor', async () => {
      const first = await as(carol).get('/v1/notes?limit=10');
      const second = await as(carol).get(`/v1/notes?limit=10&cursor=${first.body.next_cursor}`);
      const third = await as(carol).get(`/v1/notes?limit=10&cursor=${second.body.next_cursor}`);
      const titles = [...first.body.items, ...second.body.items, ...third.body.items].map((n: { title: string }) => n.title);
      expect(titles).toEqual(Array.from({ length: 25 }, (_, i) => `note ${25 - i}`));
      expect(third.body.next_cursor).toBeNull();
    });

    it('when the page is exactly full, then next_cursor is null', async () => {
      const res = await as(carol).get('/v1/notes?limit=25');
      expect(res.body.items).toHaveLength(25);
      expect(res.body.next_cursor).toBeNull();
    });

    it('when notes hold quotes, escapes, control characters and emoji, then each listed item is exactly the note GET returns', async () => {
      const dave = await issuer.mint({ sub: 'auth0|dave' });
      const tricky = ['"quoted" \\ back\\slash', 'line\nbreak\ttab\u0001\u001f', '😀 ünïcödé \u2028\u2029 </script>', '{"items":[]}'];
      for (const title of tricky) await createNote(dave, { title, body: `${title} / ${title}` });
      const list = await as(dave).get('/v1/notes?limit=3');
      expect(list.headers['content-type']).toBe('application/json; charset=utf-8');
      const rest = await as(dave).get(`/v1/notes?cursor=${list.body.next_cursor}`);
      const items = [...list.body.items, ...rest.body.items] as Array<{ id: string; title: string }>;
      expect(items.map((item) => item.title)).toEqual([...tricky].reverse());
      for (const item of items) expect(item).toEqual((await as(dave).get(`/v1/notes/${item.id}`)).body);
      expect(rest.body.next_cursor).toBeNull();
    });

    it('when a note is edited, then the list shows it as GET does, edited', async () => {
      const erin = await issuer.mint({ sub: 'auth0|erin' });
      const note = await createNote(erin, { title: 'before', body: 'old' });
      const patched = await as(erin).patch(`/v1/notes/${note.id}`, { title: 'after "quoted"' }).set('If-Match', '"v1"');
      expect(patched.status).toBe(200);
      const list = await as(erin).get('/v1/notes');
      expect(list.body.items).toEqual([patched.body]);
      expect(list.body.items[0]).toMatchObject({ title: 'after "quoted"', body: 'old' });
    });

    it('when a user has no notes, then an empty page', async () => {
      const nobody = await issuer.mint({ sub: 'auth0|nobody' });
      const res = await as(nobody).get('/v1/notes');
      expect(res.body).toEqual({ items: [], next_cursor: null });
    });

    it.each(['0', '101', 'ten', '1.5', '-1'])('when limit is %s, then 400 naming limit', async (limit) => {
      const res = await as(carol).get(`/v1/notes?limit=${limit}`);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ parameter: 'limit', detail: expect.any(String) }]);
    });

    it('when limit is given twice, then 400', async () => {
      const res = await as(carol).get('/v1/notes?limit=1&limit=2');
      expect(res.status).toBe(400);
      expect(res.body.errors[0].parameter).toBe('limit');
    });

    it.each(['garbage', 'bjA', Buffer.from('n1; DROP TABLE notes').toString('base64url')])(
      'when the cursor is %s, then 400 naming cursor',
      async (cursor) => {
        const res = await as(carol).get(`/v1/notes?cursor=${cursor}`);
        expect(res.status).toBe(400);
        expect(res.body.errors).toEqual([{ parameter: 'cursor', detail: 'is not a cursor from this API' }]);
      },
    );

    it("when Bob lists, then he sees none of Carol's notes", async () => {
      const res = await as(bob).get('/v1/notes?limit=100');
      expect(res.body.items.map((n: { title: string }) => n.title)).not.toContain('note 1');
    });
  });

  describe('GET, PATCH, DELETE /v1/notes/{id}: ownership', () => {
    it("when Bob asks for Alice's note, then 404 exactly like a missing one", async () => {
      const note = await createNote(alice, { title: 'secret' });
      const theirs = await as(bob).get(`/v1/notes/${note.id}`);
      const missing = await as(bob).get('/v1/notes/00000000-0000-4000-8000-000000000000');
      expect(theirs.status).toBe(404);
      expect(theirs.body).toEqual({ ...missing.body, instance: theirs.body.instance, request_id: theirs.body.request_id });
    });

    it("when Bob patches or deletes Alice's note, then 404 and the note is unchanged", async () => {
      const note = await createNote(alice, { title: 'mine' });
      expect((await as(bob).patch(`/v1/notes/${note.id}`, { title: 'hijacked' })).status).toBe(404);
      expect((await as(bob).delete(`/v1/notes/${note.id}`)).status).toBe(404);
      const res = await as(alice).get(`/v1/notes/${note.id}`);
      expect(res.status).toBe(200);
      expect(res.body.title).toBe('mine');
    });

    it('when the id is not a UUID, then 404', async () => {
      const res = await as(alice).get("/v1/notes/1' OR '1'='1");
      expect(res.status).toBe(404);
    });
  });

  describe('PATCH /v1/notes/{id}', () => {
    it('when one field changes, then 200, the other is kept, updated_at moves and the ETag changes', async () => {
      const note = await createNote(alice, { title: 'before', body: 'keep me' });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const res = await as(alice).patch(`/v1/notes/${note.id}`, { title: 'after' });
      expect(res.status).toBe(200);
      expect(res.headers.etag).toBe('"v2"');
      expect(res.body).toMatchObject({ id: note.id, title: 'after', body: 'keep me', created_at: note.created_at });
      expect(Date.parse(res.body.updated_at)).toBeGreaterThan(Date.parse(note.updated_at));
    });

    it('when sent as application/merge-patch+json, then it is accepted', async () => {
      const note = await createNote(alice);
      const res = await api
        .request()
        .patch(`/v1/notes/${note.id}`)
        .auth(alice, { type: 'bearer' })
        .type('application/merge-patch+json')
        .send(JSON.stringify({ body: 'merged' }));
      expect(res.status).toBe(200);
      expect(res.body.body).toBe('merged');
    });

    it('when If-Match is the current ETag, then 200', async () => {
      const note = await createNote(alice);
      const res = await as(alice).patch(`/v1/notes/${note.id}`, { body: 'v2' }).set('If-Match', '"v1"');
      expect(res.status).toBe(200);
    });

    it('when If-Match is stale, then 412 and nothing changes', async () => {
      const note = await createNote(alice, { title: 'original' });
      await as(alice).patch(`/v1/notes/${note.id}`, { title: 'second' });
      const res = await as(alice).patch(`/v1/notes/${note.id}`, { title: 'lost update' }).set('If-Match', '"v1"');
      expect(res.status).toBe(412);
      expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:precondition-failed', status: 412 });
      expect((await as(alice).get(`/v1/notes/${note.id}`)).body.title).toBe('second');
    });

    it('when If-Match is a weak tag, then 412 (strong comparison)', async () => {
      const note = await createNote(alice);
      const res = await as(alice).patch(`/v1/notes/${note.id}`, { title: 'x' }).set('If-Match', 'W/"v1"');
      expect(res.status).toBe(412);
    });

    it('when the patch is empty or has unknown fields, then 400', async () => {
      const note = await createNote(alice);
      expect((await as(alice).patch(`/v1/notes/${note.id}`, {})).status).toBe(400);
      const res = await as(alice).patch(`/v1/notes/${note.id}`, { owner: 'auth0|bob' });
      expect(res.status).toBe(400);
      expect(res.body.errors).toContainEqual({ pointer: '#/owner', detail: 'is not a field of this resource' });
    });
  });

  describe('GET /v1/notes/{id}', () => {
    it('when the note exists, then 200 with its ETag, and If-None-Match with it gives 304', async () => {
      const note = await createNote(alice);
      const res = await as(alice).get(`/v1/notes/${note.id}`);
      expect(res.status).toBe(200);
      expect(res.headers.etag).toBe('"v1"');
      const again = await as(alice).get(`/v1/notes/${note.id}`).set('If-None-Match', res.headers.etag!);
      expect(again.status).toBe(304);
      expect(again.headers.etag).toBe('"v1"');
    });
  });

  describe('DELETE /v1/notes/{id}', () => {
    it('when the owner deletes with the delete:notes scope, then 204 and the note is gone', async () => {
      const note = await createNote(alice);
      const res = await as(alice).delete(`/v1/notes/${note.id}`);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect((await as(alice).get(`/v1/notes/${note.id}`)).status).toBe(404);
      expect((await as(alice).delete(`/v1/notes/${note.id}`)).status).toBe(404);
    });

    it('when the token lacks delete:notes, then 403 and nothing is deleted', async () => {
      const note = await createNote(alice);
      const writer = await issuer.mint({ scope: 'read:notes write:notes' });
      const res = await as(writer).delete(`/v1/notes/${note.id}`);
      expect(res.status).toBe(403);
      expect(res.body.scope).toBe('delete:notes');
      expect((await as(alice).get(`/v1/notes/${note.id}`)).status).toBe(200);
    });

    it('when If-Match is stale, then 412 and the note stays', async () => {
      const note = await createNote(alice);
      const res = await as(alice).delete(`/v1/notes/${note.id}`).set('If-Match', '"v9"');
      expect(res.status).toBe(412);
      expect((await as(alice).get(`/v1/notes/${note.id}`)).status).toBe(200);
    });
  });
});
