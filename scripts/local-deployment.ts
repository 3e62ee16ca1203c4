/**
 * `npm run deploy:local`: the topology of deploy/compose.yaml on this machine, without Docker, from the same
 * deploy/haproxy.cfg and deploy/pgbouncer.ini the deployment tests run: PgBouncer (transaction pooling) in front of
 * the local PostgreSQL (TEST_DATABASE_URL, a role and schema of its own, dropped at the end), the local Redis, three
 * API replicas from source, HAProxy in front, and a loopback issuer whose token it prints. Ctrl-C stops everything.
 *
 *   npm run deploy:local                      # runs until Ctrl-C
 *   npm run deploy:local -- --roll-after 10   # also restarts each replica in turn, 10 s after start
 */
import { parseArgs } from 'node:util';
import { startHaproxy } from '../test/support/haproxy.js';
import { startTestIssuer } from '../test/support/issuer.js';
import { createPooledRole, startPgBouncer } from '../test/support/pgbouncer.js';
import { freePort } from '../test/support/ports.js';
import { testRedisEnv } from '../test/support/redis.js';
import { startReplicas } from '../test/support/replicas.js';

const { values } = parseArgs({ options: { 'roll-after': { type: 'string' }, drain: { type: 'string', default: '5' } } });
const issuer = await startTestIssuer();
const role = await createPooledRole();
const pgbouncer = await startPgBouncer([role]);
const ports = [await freePort(), await freePort(), await freePort()];
const group = await startReplicas({
  issuer,
  ports,
  env: {
    DATABASE_URL: pgbouncer.urlFor(role),
    ...(await testRedisEnv('deploy-local')),
    NODE_ENV: 'production',
    SHUTDOWN_DRAIN_SECONDS: values.drain!,
    TRUST_PROXY: 'loopback',
    // One token for every request of a load test: its user's budget must not be what limits.
    RATE_LIMIT_PER_USER: '100000000',
  },
});
const haproxy = await startHaproxy(ports.map((port) => `127.0.0.1:${port}`));
const token = await issuer.mint({ sub: 'auth0|deploy-local', exp: Math.floor(Date.now() / 1000) + 7200 });

const waitUp = async (name: string) => {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
    if ((await haproxy.states())[name] === 'UP') return;
  }
  throw new Error(`HAProxy did not take ${name} back within 60 s`);
};
for (const replica of group.replicas) await waitUp(replica.name);
console.log(`HAProxy: ${haproxy.url}  (replicas ${group.replicas.map((replica) => replica.url).join(', ')}; PgBouncer 127.0.0.1:${pgbouncer.port})`);
console.log(`TOKEN=${token}`);
console.log(`curl -H "Authorization: Bearer $TOKEN" ${haproxy.url}/v1/notes`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await group.close();
  await haproxy.close();
  await pgbouncer.close();
  await issuer.close();
  await role.drop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

if (values['roll-after']) {
  await new Promise((resolve) => setTimeout(resolve, Number(values['roll-after']) * 1000));
  for (const index of [0, 1, 2]) {
    const replica = group.replicas[index]!;
    const signalled = Date.now();
    replica.kill('SIGTERM');
    const { code } = await replica.exited;
    const served = /"requests_while_draining":(\d+)[^\n]*"msg":"stopped"/.exec(replica.output())?.[1];
    console.log(`${replica.name}: exited ${code} ${Date.now() - signalled} ms after SIGTERM, ${served} requests served while draining`);
    await group.restart(index);
    await waitUp(replica.name);
    console.log(`${replica.name}: back in HAProxy ${Date.now() - signalled} ms after SIGTERM`);
  }
  console.log('rolling restart done');
}
