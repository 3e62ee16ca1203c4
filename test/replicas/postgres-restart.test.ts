/**
 * Three replicas writing to a PostgreSQL server that goes down and comes back. The server is this file's own (a
 * private instance in a temp folder), never the shared one other test files use.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { listAll, send, until, writeContinuously, type Answer } from '../support/replica-client.js';
import { explained, startReplicas, type Replicas } from '../support/replicas.js';

let issuer: TestIssuer;
let postgres: PrivatePostgres | undefined;
let group: Replicas | undefined;
beforeAll(async () => {
  issuer = await startTestIssuer();
  postgres = await startPrivatePostgres();
  group = await startReplicas({
    issuer,
    env: {
      DATABASE_URL: postgres.url,
      DATABASE_POOL_SIZE: '4',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      DATABASE_STATEMENT_TIMEOUT_MS: '2000',
      // Six writers for several seconds: no user's budget may decide an outcome here.
      RATE_LIMIT_PER_USER: '100000',
    },
  });
}, 120_000);
afterAll(async () => {
  await group?.close();
  postgres?.destroy();
  await issuer?.close();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PostgreSQL restarted under load', () => {
  it(
    'when PostgreSQL restarts during writes through three replicas, then clients get 503 with Retry-After meanwhile, the replicas recover by themselves and no acknowledged write is lost',
    explained(
      () => group,
      async () => {
        const replicas = group!.replicas;
        const tokens = await Promise.all(Array.from({ length: 6 }, () => issuer.mint({ sub: `auth0|restart-${randomUUID()}` })));
        const load = writeContinuously(() => replicas.map((replica) => replica.url), tokens);
        // Every replica writing first (a bounded wait, not a fixed sleep: this machine may be slow).
        const loaded = await until(() => replicas.every((replica) => load.acknowledged.filter((write) => write.via === replica.url).length >= 5), 15_000);

        postgres!.stop();
        const refusedBefore = load.refusals.length;
        // Down long enough for every replica to answer writes with 503, and for its readiness check to fail.
        await until(() => new Set(load.refusals.slice(refusedBefore).map((refusal) => refusal.via)).size === replicas.length, 10_000);
        await pause(500);
        // Every replica says it is not ready, and why.
        const readiness: Answer[] = await Promise.all(replicas.map((replica) => send(replica.url, '/readyz')));
        postgres!.start();
        const upAt = Date.now();

        // Recovered: each replica acknowledges writes again, without a restart (bounded: 15 s).
        const writingAgain = (url: string) => load.acknowledged.some((write) => write.at > upAt && write.via === url);
        const allRecovered = await until(() => replicas.every((replica) => writingAgain(replica.url)), 15_000);
        await pause(300);
        await load.stop();

        expect(loaded).toBe(true);
        expect(allRecovered).toBe(true);
        for (const ready of readiness) {
          expect(ready.status).toBe(503);
          expect(ready.body).toMatchObject({ checks: { database: 'failing' } });
        }
        // During the outage: 503s with Retry-After and a problem body; never a 500, never a cut connection.
        expect(Object.keys(load.outcomes).sort()).toEqual(['201', '503']);
        expect(load.refusals.length).toBeGreaterThan(0);
        for (const refusal of load.refusals) {
          expect(refusal.status).toBe(503);
          expect(refusal.headers.get('retry-after')).toMatch(/^\d+$/);
          expect(refusal.headers.get('content-type')).toMatch(/^application\/problem\+json/);
          expect(JSON.stringify(refusal.body)).not.toMatch(/postgres:\/\//);
        }

        // Every acknowledged write is there, read through each replica in turn.
        for (const [index, token] of tokens.entries()) {
          const stored = new Map((await listAll(replicas[index % 3]!.url, token)).map((note) => [note.id, note.title]));
          const mine = load.acknowledged.filter((write) => write.token === token);
          expect(mine.filter((write) => stored.get(write.id) !== write.title)).toEqual([]);
        }
      },
    ),
    60_000,
  );
});
