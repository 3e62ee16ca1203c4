/**
 * A private PgBouncer (Debian's, 1.18 or later) in front of the test PostgreSQL (or the bench's: `databaseUrl`),
 * running `deploy/pgbouncer.ini` itself with only what differs on this machine changed (address, port, the user list,
 * where `notes` is). Transaction pooling, `default_pool_size` and the stock `ignore_startup_parameters` come from the
 * deployed file. PgBouncer refuses to run as root, so as root it runs as `postgres` (`runuser`). Used by the
 * deployment tests, `npm run deploy:local` and `npm run bench`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { aptInstallCommand, canInstallWithApt, installWithApt } from './apt-install.js';
import { freePort } from './ports.js';
import { TEST_DATABASE_URL, connectTestDatabase } from './postgres.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEPLOYED_PGBOUNCER_INI = path.join(ROOT, 'deploy', 'pgbouncer.ini');

export const PGBOUNCER = '/usr/sbin/pgbouncer';
const installed = () => fs.existsSync(PGBOUNCER);

/**
 * Why PgBouncer cannot be started here, in one line saying what to install (`packages`), or `undefined` when it is
 * installed. `whoNeedsIt` starts the line: "The deployment tests need".
 */
export function pgbouncerProblem(whoNeedsIt: string, packages: readonly string[] = ['pgbouncer']): string | undefined {
  return installed() ? undefined : `${whoNeedsIt} PgBouncer 1.18+ at ${PGBOUNCER}: ${aptInstallCommand(packages)}`;
}

/** PgBouncer's binary: found, or installed (with HAProxy, which the same tests need) when this process may. */
function pgbouncerBinary(): string {
  if (!installed() && canInstallWithApt()) {
    installWithApt({ packages: ['pgbouncer', 'haproxy'], installed: () => installed() && fs.existsSync('/usr/sbin/haproxy'), why: 'The deployment tests need PgBouncer and HAProxy' });
  }
  const problem = pgbouncerProblem('The deployment tests need', ['pgbouncer', 'haproxy']);
  if (problem) throw new Error(problem);
  return PGBOUNCER;
}

/**
 * A login role of its own whose schema is its `search_path`, and whose statements the server bounds
 * (`statement_timeout`): set on the role, so every server connection PgBouncer opens for it starts with them. A
 * transaction pooler passes neither a session `SET` nor the `options` startup parameter (PgBouncer 1.18 refuses it).
 */
export interface PooledRole {
  readonly name: string;
  readonly password: string;
  /** A query on the test database as the test's own superuser (not through PgBouncer), in the role's schema. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  drop(): Promise<void>;
}

/** Creates the role and its schema in `databaseUrl` (default TEST_DATABASE_URL), as that URL's (super)user. */
export async function createPooledRole(options: { statementTimeoutMs?: number; databaseUrl?: string } = {}): Promise<PooledRole> {
  const name = `p_${randomBytes(6).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const client = await connectTestDatabase(options.databaseUrl);
  await client.query(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`);
  await client.query(`CREATE SCHEMA ${name} AUTHORIZATION ${name}`);
  await client.query(`ALTER ROLE ${name} SET search_path = ${name}`);
  await client.query(`ALTER ROLE ${name} SET statement_timeout = ${options.statementTimeoutMs ?? 5000}`);
  await client.query(`SET search_path = ${name}`);
  return {
    name,
    password,
    query: (sql, values) => client.query(sql, values),
    async drop() {
      try {
        await client.query(`DROP SCHEMA ${name} CASCADE`);
        await client.query(`DROP ROLE ${name}`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TestPgBouncer {
  readonly port: number;
  /** `postgres://ROLE:PASSWORD@127.0.0.1:PORT/notes`: what DATABASE_URL is set to. */
  urlFor(role: PooledRole): string;
  output(): string;
  close(): Promise<void>;
  /**
   * The last resort where nothing asynchronous runs (a process's `exit` handler): SIGTERM, which runuser passes on
   * and on which PgBouncer closes its connections and exits by itself. Its temporary folder stays.
   */
  stopNow(): void;
}

/**
 * The ini text with each `key = value` line of `settings` given its new value. Each key must be there: the deployed
 * file is run as it is, only its addresses changed. (PgBouncer cannot take overrides after an `%include`: a second
 * `[pgbouncer]` section starts again from the defaults, transaction pooling included.)
 */
function withSettings(ini: string, settings: Record<string, string>): string {
  let text = ini;
  for (const [key, value] of Object.entries(settings)) {
    const line = new RegExp(`^${key}\\s*=.*$`, 'm');
    if (!line.test(text)) throw new Error(`${DEPLOYED_PGBOUNCER_INI} has no "${key} =" line to point at this machine`);
    text = text.replace(line, `${key} = ${value}`);
  }
  return text;
}

/**
 * Starts PgBouncer with deploy/pgbouncer.ini on a free port, `notes` pointing at the database of `databaseUrl`
 * (default TEST_DATABASE_URL; PgBouncer logs in there as each role, with its password), for `roles`. `settings`
 * changes lines of the deployed file (e.g. `pool_mode`), for a test of a pooler set up otherwise.
 */
export async function startPgBouncer(
  roles: readonly PooledRole[],
  options: { databaseUrl?: string; settings?: Record<string, string> } = {},
): Promise<TestPgBouncer> {
  const binary = pgbouncerBinary();
  const asRoot = process.getuid?.() === 0;
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-pgbouncer-'));
  const port = await freePort();
  const server = new URL(options.databaseUrl ?? TEST_DATABASE_URL);
  fs.writeFileSync(path.join(folder, 'userlist.txt'), roles.map((role) => `"${role.name}" "${role.password}"\n`).join(''));
  fs.writeFileSync(
    path.join(folder, 'pgbouncer.ini'),
    withSettings(fs.readFileSync(DEPLOYED_PGBOUNCER_INI, 'utf8'), {
      notes: `host=${server.hostname} port=${server.port || 5432} dbname=${server.pathname.slice(1)}`,
      listen_addr: '127.0.0.1',
      listen_port: String(port),
      unix_socket_dir: folder,
      auth_file: path.join(folder, 'userlist.txt'),
      ...options.settings,
    }),
  );
  fs.chmodSync(folder, 0o755);
  if (asRoot) spawnSync('chown', ['-R', 'postgres', folder]);
  const ini = path.join(folder, 'pgbouncer.ini');
  const child: ChildProcess = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', binary, ini], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(binary, [ini], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // runuser passes the signal on to PgBouncer, which closes its connections and exits.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(folder, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!/process up/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`PgBouncer did not start on port ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    urlFor: (role) => `postgres://${role.name}:${role.password}@127.0.0.1:${port}/notes`,
    output: () => output,
    close,
    stopNow: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
