import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A PostgreSQL server of one test's own, in a temp folder: it may be stopped and started without disturbing anyone. */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication, loopback only). */
  readonly url: string;
  readonly port: number;
  /** Stops the server; `immediate` is a crash (no checkpoint: the next start replays the WAL), `fast` a clean stop. */
  stop(mode?: 'fast' | 'immediate'): void;
  /** Starts it again on the same port and data, waiting until it accepts connections. */
  start(): void;
  /** Stops it if running and removes its folder. */
  close(): void;
}

const INSTALL_HINT =
  'The test starts a PostgreSQL server of its own from the installed binaries (initdb, pg_ctl). Install them ' +
  '(Debian/Ubuntu: apt-get install postgresql), or point PG_BIN at the folder that holds them.';

/** The folder of initdb and pg_ctl: PG_BIN, else the newest /usr/lib/postgresql/<version>/bin. */
function binaries(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((version) => path.join(root, version, 'bin')).find((bin) => fs.existsSync(path.join(bin, 'initdb')));
  if (!found) throw new Error(`No PostgreSQL binaries under ${root}. ${INSTALL_HINT}`);
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * initdb into a temp folder and pg_ctl start on a free loopback port. PostgreSQL refuses to run as root, so as root
 * the folder is given to the `postgres` user and its commands run through runuser. Takes about two seconds.
 *
 * @example
 * const pg = await startPrivatePostgres();
 * pg.stop('immediate'); pg.start();
 * pg.close();
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binaries();
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-private-pg-'));
  const data = path.join(folder, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    fs.chownSync(folder, uid, gid);
  }
  const run = (command: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, command), ...args]] : [path.join(bin, command), args];
    try {
      execFileSync(file, argv, { stdio: 'pipe', timeout: 60_000 });
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: Buffer; stdout?: Buffer };
      const log = fs.existsSync(path.join(folder, 'server.log')) ? fs.readFileSync(path.join(folder, 'server.log'), 'utf8').slice(-2000) : '';
      throw new Error(`${command} ${args.join(' ')} failed: ${stderr?.toString() ?? ''}${stdout?.toString() ?? ''}\n${log}\n${INSTALL_HINT}`, { cause: error });
    }
  };
  const port = await freePort();
  let running = false;
  const pgCtl = (...args: string[]) => run('pg_ctl', ['-D', data, ...args]);
  const start = () => {
    // Unix socket in our own folder, TCP on loopback only; small, since only this test connects.
    pgCtl('-o', `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c max_connections=40 -c shared_buffers=16MB`, '-l', path.join(folder, 'server.log'), '-w', '-t', '30', 'start');
    running = true;
  };
  const stop = (mode: 'fast' | 'immediate' = 'fast') => {
    pgCtl('-m', mode, '-w', '-t', '30', 'stop');
    running = false;
  };
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    start();
  } catch (error) {
    fs.rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    close() {
      try {
        if (running) stop('immediate');
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    },
  };
}
