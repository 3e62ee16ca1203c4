/**
 * The API as deploy/compose.yaml runs it: three real replicas behind HAProxy (deploy/haproxy.cfg), on PostgreSQL
 * through PgBouncer in transaction mode (deploy/pgbouncer.ini: default_pool_size 5, stock ignore_startup_parameters),
 * sharing one Redis. Clients talk to HAProxy only.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrations } from '../../src/db/postgres/migrations.js';
import { startHaproxy, type TestHaproxy } from '../support/haproxy.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';
import { createPooledRole, startPgBouncer, type PooledRole, type TestPgBouncer } from '../support/pgbouncer.js';
import { freePort } from '../support/ports.js';
import { listAll, send, until, writeContinuously, type Answer } from '../support/replica-client.js';
import { testRedisEnv } from '../support/redis.js';
import { explained, startReplicas, type Replicas } from '../support/replicas.js';

/** How long a replica keeps serving after SIGTERM: longer than HAProxy needs to mark it down (inter 1s, fall 2). */
const DRAIN_SECONDS = 3;

let issuer: TestIssuer;
let role: PooledRole | undefined;
let pgbouncer: TestPgBouncer | undefined;
let group: Replicas | undefined;
let haproxy: TestHaproxy | undefined;

/** Until HAProxy has every replica UP (its checks on /readyz pass, rise 2). */
const allUp = async (timeoutMs: number) => {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
    const states = await haproxy!.states();
    if (Object.values(states).length === 3 && Object.values(states).every((state) => state === 'UP')) return;
  }
  throw new Error(`HAProxy does not have every replica UP: ${JSON.stringify(await haproxy!.states())}`);
};

beforeAll(async () => {
  issuer = await startTestIssuer();
  role = await createPooledRole();
  pgbouncer = await startPgBouncer([role]);
  const ports = [await freePort(), await freePort(), await freePort()];
  group = await startReplicas({
    issuer,
    ports,
    env: {
      DATABASE_URL: pgbouncer.urlFor(role),
      ...(await testRedisEnv('deploy')),
      SHUTDOWN_DRAIN_SECONDS: String(DRAIN_SECONDS),
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_PER_USER: '100000',
    },
  });
  haproxy = await startHaproxy(ports.map((port) => `127.0.0.1:${port}`));
  await allUp(20_000);
}, 180_000);
afterAll(async () => {
  await group?.close();
  await haproxy?.close();
  await pgbouncer?.close();
  await issuer?.close();
  await role?.drop();
});

const newUser = () => issuer.mint({ sub: `auth0|deploy-${randomUUID()}` });
const through = (path: string, call: Parameters<typeof send>[2] = {}) => send(haproxy!.url, path, call);
const explain = () => {
  const replicas = group?.describe() ?? '';
  return `${replicas}\n--- PgBouncer ---\n${pgbouncer?.output().slice(-3000)}\n--- HAProxy ---\n${haproxy?.output().slice(-3000)}`;
};
const test = (title: string, body: () => Promise<void>, timeoutMs = 60_000) =>
  it(title, explained(() => group && { ...group, describe: explain }, body), timeoutMs);

describe('three replicas starting together through PgBouncer', () => {
  test('when they migrate an empty schema at once, then each migration is applied once, by one of them, and each reports the statement bound the role sets', async () => {
    const versions = migrations.map((migration) => migration.version);
    const { rows } = await role!.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((row) => row.version)).toEqual(versions);
    const applied = group!.replicas.map((replica) => JSON.parse(/\{[^\n]*"notes are kept in PostgreSQL"[^\n]*\}/.exec(replica.output())![0]).migrations_applied as number[]);
    expect(applied.flat().sort((a, b) => a - b)).toEqual(versions);
    for (const replica of group!.replicas) expect(replica.output()).toMatch(/statements are bounded by the server's statement_timeout \(5000 ms\)/);
  });
});

describe('notes through HAProxy and PgBouncer (transaction pooling)', () => {
  test('when a note is created, read, listed, patched with If-Match and deleted, then every answer is the one a single server gives', async () => {
    const token = await newUser();
    const created = await through('/v1/notes', { method: 'POST', token, body: { title: 'Pooled', body: 'through PgBouncer' } });
    expect(created.status).toBe(201);
    const id = String(created.body!.id);
    const read = await through(`/v1/notes/${id}`, { token });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect((await through('/v1/notes', { token })).body!.items).toEqual([created.body]);
    const patched = await through(`/v1/notes/${id}`, { method: 'PATCH', token, body: { body: 'patched' }, headers: { 'if-match': read.headers.get('etag')! } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, title: 'Pooled', body: 'patched' });
    const stale = await through(`/v1/notes/${id}`, { method: 'PATCH', token, body: { body: 'stale' }, headers: { 'if-match': read.headers.get('etag')! } });
    expect(stale.status).toBe(412);
    const deleted = await through(`/v1/notes/${id}`, { method: 'DELETE', token, headers: { 'if-match': patched.headers.get('etag')! } });
    expect(deleted.status).toBe(204);
    expect((await through(`/v1/notes/${id}`, { token })).status).toBe(404);
  });

  test('when eight PATCHes with the same If-Match race, ten times over, then exactly one wins each race and the others get 412', async () => {
    const token = await newUser();
    const created = await through('/v1/notes', { method: 'POST', token, body: { title: 'Contended' } });
    const id = String(created.body!.id);
    let etag = created.headers.get('etag')!;
    for (let race = 0; race < 10; race++) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => through(`/v1/notes/${id}`, { method: 'PATCH', token, body: { body: `race ${race}, writer ${i}` }, headers: { 'if-match': etag } })),
      );
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      expect(statuses.filter((status) => status === 412)).toHaveLength(7);
      const winner = answers.find((answer) => answer.status === 200)!;
      const stored = await through(`/v1/notes/${id}`, { token });
      expect(stored.body).toEqual(winner.body);
      etag = winner.headers.get('etag')!;
    }
  });

  test('when 48 clients each create, read, list and patch notes at once (480 requests), then every answer is 2xx', async () => {
    const statuses: Record<number, number> = {};
    const failures: Answer[] = [];
    const count = (answer: Answer) => {
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      if (answer.status >= 300) failures.push(answer);
      return answer;
    };
    await Promise.all(
      Array.from({ length: 48 }, async (_, client) => {
        const token = await newUser();
        for (let round = 0; round < 2; round++) {
          const created = count(await through('/v1/notes', { method: 'POST', token, body: { title: `client ${client} round ${round}` } }));
          const id = String(created.body?.id);
          const read = count(await through(`/v1/notes/${id}`, { token }));
          count(await through('/v1/notes?limit=20', { token }));
          const patched = count(await through(`/v1/notes/${id}`, { method: 'PATCH', token, body: { body: 'patched' }, headers: { 'if-match': read.headers.get('etag') ?? '' } }));
          expect(patched.body?.body).toBe('patched');
          count(await through('/v1/me', { token }));
        }
      }),
    );
    expect({ statuses, failures: failures.slice(0, 3) }).toEqual({ statuses: { 200: 384, 201: 96 }, failures: [] });
  }, 120_000);
});

describe('a rolling restart behind HAProxy under steady load', () => {
  test(`when each replica in turn gets SIGTERM, exits and starts again while 12 clients keep writing through HAProxy, then no request fails, no connection is cut, each exits within drain (${DRAIN_SECONDS} s) + 1 s, and every acknowledged note is there`, async () => {
    const tokens = await Promise.all(Array.from({ length: 12 }, () => newUser()));
    const load = writeContinuously(() => [haproxy!.url], tokens);
    const exits: { name: string; ms: number; code: number | null; served: number }[] = [];
    try {
      await until(() => load.acknowledged.length >= 50, 10_000);
      for (const index of [0, 1, 2]) {
        const replica = group!.replicas[index]!;
        const signalled = Date.now();
        replica.kill('SIGTERM');
        const { code } = await replica.exited;
        const served = Number(/"requests_while_draining":(\d+),[^\n]*"msg":"stopped"/.exec(replica.output())?.[1] ?? -1);
        exits.push({ name: replica.name, ms: Date.now() - signalled, code, served });
        await group!.restart(index);
        await allUp(30_000);
      }
      // A moment of load with all three back.
      const before = load.acknowledged.length;
      await until(() => load.acknowledged.length >= before + 30, 10_000);
    } finally {
      await load.stop();
    }
    expect({ outcomes: load.outcomes, refusals: load.refusals.slice(0, 3) }).toEqual({ outcomes: { 201: load.acknowledged.length }, refusals: [] });
    for (const exit of exits) {
      expect(exit.code).toBe(0);
      // It drained (kept serving what HAProxy still sent until its checks took it out), then stopped promptly.
      expect(exit.ms).toBeGreaterThanOrEqual(DRAIN_SECONDS * 1000);
      expect(exit.ms).toBeLessThan((DRAIN_SECONDS + 1) * 1000);
      expect(exit.served).toBeGreaterThan(0);
    }
    for (const token of tokens) {
      const stored = new Set((await listAll(haproxy!.url, token)).map((note) => note.id));
      const missing = load.acknowledged.filter((write) => write.token === token && !stored.has(write.id));
      expect(missing).toEqual([]);
    }
    console.log(`rolling restart: ${load.acknowledged.length} notes written, exits ${JSON.stringify(exits)}`);
  }, 180_000);
});
