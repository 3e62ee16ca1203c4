import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SEE_PREFLIGHT } from './service-recipes.js';
import { freePort } from './ports.js';

/** A PostgreSQL server of the test's own, in a temp folder, that it may stop and start (the shared one is never touched). */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication). */
  readonly url: string;
  /** Stops the server (`pg_ctl stop -m fast`: connections are cut, as in a restart or a failover). */
  stop(): void;
  start(): void;
  /** Stops it and removes its folder. */
  destroy(): void;
}

/** The folder of `initdb` and `pg_ctl`: `PG_BIN`, else the newest of Debian's `/usr/lib/postgresql/N/bin`. */
function binariesFolder(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = process.env.PG_BIN ?? (versions[0] && path.join(root, versions[0], 'bin'));
  return bin && fs.existsSync(path.join(bin, 'initdb')) ? bin : undefined;
}

/** Why the tests cannot start a PostgreSQL server of their own (no `initdb` found), or `undefined` when they can. */
export function postgresBinariesProblem(): string | undefined {
  if (binariesFolder()) return undefined;
  return `PostgreSQL's initdb and pg_ctl (the outage and restart tests start servers of their own): not in ${process.env.PG_BIN ? `PG_BIN=${process.env.PG_BIN}` : '/usr/lib/postgresql/*/bin, and PG_BIN is not set'}`;
}

function binaries(): string {
  const bin = binariesFolder();
  if (!bin) throw new Error(`${postgresBinariesProblem()}; ${SEE_PREFLIGHT}`);
  return bin;
}

/**
 * Creates and starts a PostgreSQL server on a free port of 127.0.0.1 with `initdb` and `pg_ctl`, run as the
 * `postgres` user (PostgreSQL refuses to run as root).
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binaries();
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-pg-'));
  const data = path.join(folder, 'data');
  const asPostgres = (command: string, args: string[]) =>
    process.getuid?.() === 0
      ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, command), ...args], { stdio: 'pipe' })
      : execFileSync(path.join(bin, command), args, { stdio: 'pipe' });
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    fs.chownSync(folder, uid, gid);
  }
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const options = `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = () => asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', path.join(folder, 'log'), '-w', 'start']);
  const stop = () => asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start() {
      start();
      running = true;
    },
    stop() {
      stop();
      running = false;
    },
    destroy() {
      if (running) stop();
      fs.rmSync(folder, { recursive: true, force: true });
    },
  };
}
