import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { backends, startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

// Two APIs on one database (one SQLite file, or one PostgreSQL schema), as two replicas are: each has its own
// connections, so a race between them is decided by the database, not by one process's event loop.
describe.each(backends)('notes on %s, written through two APIs at once', (backend) => {
  let issuer: TestIssuer;
  let first: TestApi;
  let second: TestApi;
  let token: string;
  beforeAll(async () => {
    issuer = await startTestIssuer();
    first = await startApi(issuer, {}, backend);
    second = await startApi(issuer, { DATABASE_URL: first.databaseUrl }, backend);
    token = await issuer.mint({ sub: `auth0|race-${backend}` });
  });
  afterAll(async () => {
    await second.close();
    await first.close();
    await issuer.close();
  });

  const create = async (api: TestApi, title: string) => {
    const res = await api.request().post('/v1/notes').auth(token, { type: 'bearer' }).send({ title });
    expect(res.status).toBe(201);
    return res.body as { id: string; title: string };
  };

  it('when both PATCH one note with the same If-Match, then exactly one succeeds and the other gets 412, every time', async () => {
    for (let round = 0; round < 15; round++) {
      const note = await create(first, `race ${round}`);
      const responses = await Promise.all(
        [first, second].map((api, i) =>
          api.request().patch(`/v1/notes/${note.id}`).auth(token, { type: 'bearer' }).set('If-Match', '"v1"').send({ title: `winner ${i}` }),
        ),
      );
      expect(responses.map((res) => res.status).sort()).toEqual([200, 412]);
      const winner = responses.find((res) => res.status === 200)!;
      const stored = await second.request().get(`/v1/notes/${note.id}`).auth(token, { type: 'bearer' });
      expect(stored.headers.etag).toBe('"v2"');
      expect(stored.body.title).toBe(winner.body.title);
    }
  });

  // The loser gets 412 when it read the note before the winner's delete committed, 404 when after (a precondition on a
  // resource that is gone is ignored, RFC 9110 §13.2.1); never a second 204.
  it('when both DELETE one note with the same If-Match, then exactly one gets 204 and the other 412 or 404', async () => {
    for (let round = 0; round < 15; round++) {
      const note = await create(second, `doomed ${round}`);
      const responses = await Promise.all(
        [first, second].map((api) => api.request().delete(`/v1/notes/${note.id}`).auth(token, { type: 'bearer' }).set('If-Match', '"v1"')),
      );
      const statuses = responses.map((res) => res.status).sort();
      expect(statuses[0]).toBe(204);
      expect([404, 412]).toContain(statuses[1]);
      expect((await first.request().get(`/v1/notes/${note.id}`).auth(token, { type: 'bearer' })).status).toBe(404);
    }
  });

  it('when both PATCH one note without If-Match, then both succeed, one after the other, and no write is lost', async () => {
    const note = await create(first, 'counter');
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? first : second).request().patch(`/v1/notes/${note.id}`).auth(token, { type: 'bearer' }).send({ body: `write ${i}` }),
      ),
    );
    expect(responses.map((res) => res.status)).toEqual(Array(10).fill(200));
    expect(new Set(responses.map((res) => res.headers.etag)).size).toBe(10);
    const stored = await first.request().get(`/v1/notes/${note.id}`).auth(token, { type: 'bearer' });
    expect(stored.headers.etag).toBe('"v11"');
  });

  it('when notes are inserted through one API while the other pages through the list, then no note is skipped or repeated', async () => {
    const reader = await issuer.mint({ sub: `auth0|pager-${backend}` });
    const add = (api: TestApi, title: string) => api.request().post('/v1/notes').auth(reader, { type: 'bearer' }).send({ title });
    const before: string[] = [];
    for (let i = 0; i < 30; i++) before.push((await add(first, `before ${i}`)).body.id);

    let inserting = true;
    const inserted: string[] = [];
    const writer = (async () => {
      for (let i = 0; inserting; i++) inserted.push((await add(second, `during ${i}`)).body.id);
    })();
    const seen: Array<{ id: string; title: string }> = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: { items: Array<{ id: string; title: string }>; next_cursor: string | null } } = await first
        .request()
        .get(`/v1/notes?limit=4${cursor ? `&cursor=${cursor}` : ''}`)
        .auth(reader, { type: 'bearer' });
      expect(res.status).toBe(200);
      seen.push(...res.body.items);
      cursor = res.body.next_cursor;
      await new Promise((resolve) => setTimeout(resolve, 5));
    } while (cursor);
    inserting = false;
    await writer;

    expect(inserted.length).toBeGreaterThan(0);
    const ids = seen.map((note) => note.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Every note that existed when the listing began, exactly once, newest first.
    expect(ids.filter((id) => before.includes(id))).toEqual([...before].reverse());
    // What was inserted meanwhile can only be newer than the first page: it appears there or not at all.
    expect(ids.filter((id) => inserted.includes(id)).every((id) => ids.indexOf(id) < 4)).toBe(true);
  });
});
