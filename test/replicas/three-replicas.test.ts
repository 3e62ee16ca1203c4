/**
 * Three real API processes behind one (imagined) load balancer, on one PostgreSQL schema and one Redis key prefix:
 * whatever a client does through one replica holds through the others.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDpopKey, dpopProof } from '../support/dpop.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';
import { createTestSchema, type TestSchema } from '../support/postgres.js';
import { listAll, send, until, writeContinuously } from '../support/replica-client.js';
import { testRedisEnv } from '../support/redis.js';
import { explained, startReplicas, type Replica, type Replicas } from '../support/replicas.js';

/** The per-user budget of this file's replicas: small enough to exhaust in a second, large enough to measure 10%. */
const PER_USER = 300;
/** Windows are aligned on the epoch; ten minutes long, so the budget test fits in one (it waits if near the end). */
const WINDOW_SECONDS = 600;
/** What a load balancer passes on: every replica sees the same Host, so a proof's `htu` names it, not a replica. */
const PUBLIC_HOST = 'notes.replicas.test';

let issuer: TestIssuer;
let group: Replicas | undefined;
let replicas: readonly Replica[];
let schema: TestSchema | undefined;
beforeAll(async () => {
  issuer = await startTestIssuer();
  schema = await createTestSchema();
  group = await startReplicas({
    issuer,
    env: {
      DATABASE_URL: schema.url,
      ...(await testRedisEnv('replicas')),
      PUBLIC_URL: `http://${PUBLIC_HOST}`,
      RATE_LIMIT_PER_USER: String(PER_USER),
      RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
    },
  });
  replicas = group.replicas;
}, 120_000);
afterAll(async () => {
  await group?.close();
  await issuer?.close();
  await schema?.drop();
});

/** A user of their own for each test, so budgets and notes of one test never touch another's. */
const newUser = () => issuer.mint({ sub: `auth0|replicas-${randomUUID()}` });
const url = (index: number) => replicas[index]!.url;
const test = (title: string, body: () => Promise<void>, timeoutMs = 30_000) => it(title, explained(() => group, body), timeoutMs);

describe('notes across replicas', () => {
  test('when a note is created through one replica, then the others read, list, patch and delete it', async () => {
    const token = await newUser();
    const created = await send(url(0), '/v1/notes', { method: 'POST', token, body: { title: 'Shared', body: 'written on replica 1' } });
    expect(created.status).toBe(201);
    const id = String(created.body!.id);

    const read = await send(url(1), `/v1/notes/${id}`, { token });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect(read.headers.get('etag')).toBe(created.headers.get('etag'));

    const listed = await send(url(2), '/v1/notes', { token });
    expect(listed.status).toBe(200);
    expect(listed.body!.items).toEqual([created.body]);

    const patched = await send(url(2), `/v1/notes/${id}`, {
      method: 'PATCH',
      token,
      body: { body: 'patched on replica 3' },
      headers: { 'if-match': read.headers.get('etag')! },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, title: 'Shared', body: 'patched on replica 3' });
    const reread = await send(url(0), `/v1/notes/${id}`, { token });
    expect(reread.body).toEqual(patched.body);
    expect(reread.headers.get('etag')).toBe(patched.headers.get('etag'));

    const deleted = await send(url(1), `/v1/notes/${id}`, { method: 'DELETE', token, headers: { 'if-match': patched.headers.get('etag')! } });
    expect(deleted.status).toBe(204);
    for (const index of [0, 1, 2]) expect((await send(url(index), `/v1/notes/${id}`, { token })).status).toBe(404);
  });

  test('when two replicas PATCH one note with the same If-Match at the same moment, then exactly one succeeds and the other gets 412', async () => {
    const token = await newUser();
    const created = await send(url(0), '/v1/notes', { method: 'POST', token, body: { title: 'Contended' } });
    expect(created.status).toBe(201);
    const id = String(created.body!.id);
    let etag = created.headers.get('etag')!;
    // Ten races, each between a different pair of replicas, each from the ETag the previous winner returned.
    for (let race = 0; race < 10; race++) {
      const [a, b] = [race % 3, (race + 1) % 3];
      const answers = await Promise.all(
        [a, b].map((index) =>
          send(url(index), `/v1/notes/${id}`, { method: 'PATCH', token, body: { body: `race ${race} via replica ${index + 1}` }, headers: { 'if-match': etag } }),
        ),
      );
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 412]);
      const winner = answers.find((answer) => answer.status === 200)!;
      const loser = answers.find((answer) => answer.status === 412)!;
      expect(loser.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const stored = await send(url((race + 2) % 3), `/v1/notes/${id}`, { token });
      expect(stored.body).toEqual(winner.body);
      etag = winner.headers.get('etag')!;
      expect(stored.headers.get('etag')).toBe(etag);
    }
  });
});

describe('DPoP proofs across replicas', () => {
  test('when a proof accepted by one replica is replayed to another, then the other refuses it with 401 invalid_dpop_proof', async () => {
    const key = await createDpopKey();
    const bound = await issuer.mint({ sub: `auth0|replicas-${randomUUID()}`, cnf: { jkt: key.jkt } }, { alg: 'ES256' });
    const proof = await dpopProof(key, { method: 'GET', url: `http://${PUBLIC_HOST}/v1/me`, accessToken: bound });
    const call = { headers: { authorization: `DPoP ${bound}`, dpop: proof, host: PUBLIC_HOST } };

    const first = await send(url(0), '/v1/me', call);
    expect(first.status).toBe(200);
    for (const index of [1, 2]) {
      const replay = await send(url(index), '/v1/me', call);
      expect(replay.status).toBe(401);
      expect(replay.headers.get('www-authenticate')).toMatch(/(^|, )DPoP error="invalid_dpop_proof"/);
    }
    // A fresh proof for the same token is still welcome anywhere: only the replay was refused.
    const fresh = await dpopProof(key, { method: 'GET', url: `http://${PUBLIC_HOST}/v1/me`, accessToken: bound });
    expect((await send(url(1), '/v1/me', { headers: { ...call.headers, dpop: fresh } })).status).toBe(200);
  });
});

describe('rate limits across replicas', () => {
  test(`when one user sends 1.5× RATE_LIMIT_PER_USER (${PER_USER}) spread over three replicas, then the requests admitted stay within 10% of the budget`, async () => {
    const token = await newUser();
    const statuses: Record<number, number> = {};
    const total = PER_USER * 1.5;
    const intoWindow = Date.now() % (WINDOW_SECONDS * 1000);
    if (intoWindow > (WINDOW_SECONDS - 5) * 1000) await new Promise((resolve) => setTimeout(resolve, WINDOW_SECONDS * 1000 - intoWindow + 100));
    // Nine connections (three per replica), each at most one request per 30 ms: about 300 requests a second, a busy
    // client rather than one burst shorter than a sync interval, even when the machine is slow and a connection lags.
    let sent = 0;
    await Promise.all(
      Array.from({ length: 9 }, async (_, worker) => {
        while (sent < total) {
          sent++;
          const started = Date.now();
          const answer = await send(url(worker % 3), '/v1/me', { token });
          statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
          const rest = started + 30 - Date.now();
          if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
        }
      }),
    );
    expect(Object.keys(statuses).sort()).toEqual(['200', '429']);
    expect(statuses[200]! + statuses[429]!).toBe(total);
    expect(statuses[200]).toBeGreaterThanOrEqual(PER_USER * 0.9);
    expect(statuses[200]).toBeLessThanOrEqual(PER_USER * 1.1);
  });
});

describe('a replica lost mid-load', () => {
  test('when one replica is killed with SIGKILL during writes, then every acknowledged write is readable through the others, which keep serving', async () => {
    const tokens = await Promise.all(Array.from({ length: 6 }, () => newUser()));
    const [survivors, victim] = [replicas.slice(0, 2), replicas[2]!];
    let targets = replicas.map((replica) => replica.url);
    const load = writeContinuously(() => targets, tokens);
    // Load on every replica first (bounded waits, not fixed sleeps: this machine may be slow).
    const loaded = await until(() => replicas.every((replica) => load.acknowledged.filter((write) => write.via === replica.url).length >= 5), 15_000);
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The load balancer takes the dead replica out only after some of its requests failed.
    await until(() => Object.keys(load.outcomes).some((outcome) => /^E/.test(outcome)), 2000);
    targets = survivors.map((replica) => replica.url);
    const served = await until(() => load.acknowledged.filter((write) => write.at > killedAt).length >= 20, 15_000);
    await load.stop();

    expect({ loaded, served }).toEqual({ loaded: true, served: true });
    // Writes went to the victim before it died, and the survivors acknowledged writes after it.
    expect(load.acknowledged.filter((write) => write.via === victim.url && write.at < killedAt).length).toBeGreaterThan(0);
    expect(load.acknowledged.filter((write) => write.at > killedAt).length).toBeGreaterThan(0);
    // Nothing but 201s and connections cut by the kill (no 5xx from the survivors).
    expect(Object.keys(load.outcomes).filter((outcome) => /^\d+$/.test(outcome) && outcome !== '201')).toEqual([]);
    for (const [index, token] of tokens.entries()) {
      const stored = await listAll(survivors[index % 2]!.url, token);
      const titles = new Map(stored.map((note) => [note.id, note.title]));
      const mine = load.acknowledged.filter((write) => write.token === token);
      expect(mine.filter((write) => titles.get(write.id) !== write.title)).toEqual([]);
    }
  });
});
