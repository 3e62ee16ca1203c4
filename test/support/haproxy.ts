/**
 * A private HAProxy (Debian's, 2.6 or later) running `deploy/haproxy.cfg` itself, with the addresses the file reads
 * from the environment pointed at this machine's free ports. Installed with PgBouncer when missing (pgbouncer.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptInstallCommand, canInstallWithApt, installWithApt } from './apt-install.js';
import { freePort } from './ports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEPLOYED_HAPROXY_CFG = path.join(ROOT, 'deploy', 'haproxy.cfg');
const HAPROXY = '/usr/sbin/haproxy';

export interface TestHaproxy {
  /** `http://127.0.0.1:PORT`: where clients send their requests. */
  readonly url: string;
  /** Each server's state as HAProxy's stats page says it (`UP`, `DOWN`, `UP 1/2`, `MAINT`…), by name (`replica-1`…). */
  states(): Promise<Record<string, string>>;
  output(): string;
  close(): Promise<void>;
}

/** Starts HAProxy in front of `replicas` (`127.0.0.1:PORT` each, three of them, as the file names). */
export async function startHaproxy(replicas: readonly string[]): Promise<TestHaproxy> {
  if (!fs.existsSync(HAPROXY) && canInstallWithApt()) {
    installWithApt({ packages: ['pgbouncer', 'haproxy'], installed: () => fs.existsSync(HAPROXY) && fs.existsSync('/usr/sbin/pgbouncer'), why: 'The deployment tests need PgBouncer and HAProxy' });
  }
  if (!fs.existsSync(HAPROXY)) throw new Error(`The deployment tests need HAProxy 2.6+ at ${HAPROXY}: ${aptInstallCommand(['pgbouncer', 'haproxy'])}`);
  const [port, statsPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(HAPROXY, ['-f', DEPLOYED_HAPROXY_CFG], {
    env: {
      PATH: process.env.PATH,
      NOTES_LISTEN: `127.0.0.1:${port}`,
      NOTES_STATS_LISTEN: `127.0.0.1:${statsPort}`,
      ...Object.fromEntries(replicas.map((address, i) => [`NOTES_REPLICA_${i + 1}`, address])),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const statsUrl = `http://127.0.0.1:${statsPort}/stats;csv`;
  const states = async () => {
    const csv = await (await fetch(statsUrl, { signal: AbortSignal.timeout(2000) })).text();
    const rows = csv.split('\n').map((line) => line.split(','));
    const status = rows[0]!.indexOf('status');
    return Object.fromEntries(rows.filter((row) => row[0] === 'notes_replicas' && row[1]!.startsWith('replica-')).map((row) => [row[1]!, row[status]!]));
  };
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await states();
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await close();
        throw new Error(`HAProxy did not start:\n${output}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { url: `http://127.0.0.1:${port}`, states, output: () => output, close };
}
