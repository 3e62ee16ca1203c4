import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { IssuerLike } from './api.js';
import { waitForListening } from './server-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** tsx by its file, so the replicas can run in a folder of their own. */
const TSX = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** One API process started by startReplicas. */
export interface Replica {
  /** `replica-1`, `replica-2`…: how its output is labelled. */
  readonly name: string;
  /** `http://127.0.0.1:PORT` it listens on. */
  readonly url: string;
  readonly pid: number;
  /** `http://127.0.0.1:PORT/metrics` when started with metrics, else undefined. */
  readonly metricsUrl: string | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a signal to its PID (SIGKILL: gone at once, as when a host dies). */
  kill(signal: NodeJS.Signals): void;
}

export interface Replicas {
  /** The replicas now running, in order; `restart` replaces one in place. */
  readonly replicas: readonly Replica[];
  /** Starts replica `index` again (after it exited), same name, settings and port: a rolling restart's second half. */
  restart(index: number): Promise<Replica>;
  /** What each replica wrote that explains a failure (warnings, errors, its last lines), labelled. */
  describe(): string;
  /** SIGTERM to each replica still running, SIGKILL after a grace period; resolves when all have exited. */
  close(): Promise<void>;
}

export interface ReplicaOptions {
  /** How many processes (default 3). */
  count?: number;
  /** The issuer every replica trusts (one issuer for all, as in production). */
  issuer: IssuerLike;
  /** Settings every replica shares: DATABASE_URL, REDIS_URL, limits… */
  env?: Record<string, string>;
  /** Each replica also serves /metrics on a port of its own (port 0). */
  metrics?: boolean;
  /** How long each may take to print its "listening on" line (default 60 s: three tsx starts share two busy cores). */
  startTimeoutMs?: number;
  /** The port of each replica (a load balancer names them), instead of a free one each. */
  ports?: readonly number[];
}

const running = new Set<ChildProcess>();
// A test that fails before close() must not leave API processes behind: the last resort, by PID.
process.on('exit', () => {
  for (const child of running) {
    try {
      process.kill(child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/**
 * Starts `count` real API processes (src/main.ts through tsx, as `npm run dev` runs it) together, in a temp folder, each on its own port (PORT=0,
 * read back from its "listening on" line), with the same issuer, audience and shared settings: replicas behind one
 * load balancer. Their output is kept for failure messages. `close()` stops them all, by PID.
 *
 * @example
 * const { replicas, close } = await startReplicas({ issuer, env: { DATABASE_URL: schema.url, REDIS_URL: redis.url } });
 * await fetch(`${replicas[1]!.url}/v1/notes`, { headers: { authorization: `Bearer ${token}` } });
 */
export async function startReplicas(options: ReplicaOptions): Promise<Replicas> {
  const count = options.count ?? 3;
  // Their working folder: no .env of the developer's changes their settings, and nothing they write lands in the repository.
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-replicas-cwd-'));
  const started = await Promise.allSettled(Array.from({ length: count }, (_, i) => startReplica(`replica-${i + 1}`, cwd, options, options.ports?.[i])));
  const replicas = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const group: Replicas = {
    replicas,
    async restart(index) {
      const old = replicas[index]!;
      await old.exited;
      const replica = await startReplica(old.name, cwd, options, options.ports?.[index]);
      replicas[index] = replica;
      return replica;
    },
    describe: () => replicas.map((replica) => `--- ${replica.name} (pid ${replica.pid}, ${replica.url}) ---\n${notable(replica.output())}`).join('\n'),
    close: async () => {
      await Promise.all(replicas.map((replica) => stop(replica)));
      fs.rmSync(cwd, { recursive: true, force: true });
    },
  };
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    await group.close();
    throw failed.reason;
  }
  return group;
}

async function startReplica(name: string, cwd: string, options: ReplicaOptions, port = 0): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', TSX, path.join(ROOT, 'src', 'main.ts')], {
    cwd,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      ISSUER_BASE_URL: options.issuer.url,
      AUDIENCE: options.issuer.audience,
      TOKEN_SIGNING_ALGS: 'RS256,ES256',
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_ENABLED: options.metrics ? 'true' : 'false',
      METRICS_PORT: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${process.execPath}`);
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const url = await waitForListening(child, () => output, { name, timeoutMs }).catch(async (error: unknown) => {
    await stop({ pid: child.pid!, exited, kill: (signal) => void child.kill(signal) });
    throw error;
  });
  const metricsUrl = options.metrics ? /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(output)?.[1] : undefined;
  return {
    name,
    url,
    pid: child.pid,
    metricsUrl,
    exited,
    output: () => output,
    kill: (signal) => {
      try {
        process.kill(child.pid!, signal);
      } catch {
        // Already gone.
      }
    },
  };
}

async function stop(replica: Pick<Replica, 'pid' | 'exited' | 'kill'>, graceMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gone = await Promise.race([
    replica.exited.then(() => true),
    new Promise<false>((resolve) => {
      replica.kill('SIGTERM');
      timer = setTimeout(() => resolve(false), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (!gone) {
    replica.kill('SIGKILL');
    await replica.exited;
  }
}

/** What explains a failure: warnings, errors and anything not a JSON log line, then the last few lines. */
function notable(text: string): string {
  const all = text.trimEnd().split('\n');
  const unusual = all.filter((line) => !/^\{"level":(10|20|30),/.test(line)).slice(-30);
  return [...unusual, '…', ...all.slice(-8)].join('\n');
}

/**
 * Runs a test body and, when it fails, adds what each replica wrote to the error: a failure across processes is
 * read from their logs.
 *
 * @example
 * it('when …, then …', explained(() => group, async () => { … }));
 */
export function explained(group: () => Replicas | undefined, body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (error) {
      const replicas = group();
      if (replicas && error instanceof Error) error.message += `\n\nWhat the replicas wrote (last lines):\n${replicas.describe()}`;
      throw error;
    }
  };
}

