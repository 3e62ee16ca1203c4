/**
 * `npm run bench`: the benchmark of issues 6, 16, 22 and 24. Starts the bench issuer and eight servers as their own
 * processes on 127.0.0.1 (bare Express 5, the token library alone, our API in production configuration, our API
 * scaled out on PostgreSQL and Redis, the same behind a private PgBouncer in transaction mode, and for what tracing
 * costs: our API as built before tracing (BENCH_BEFORE_TRACING) and ours with tracing on at two sampling rates,
 * exporting to a local OTLP sink), drives them with
 * autocannon from this process, alternating servers over several rounds, then soaks our API for memory, and writes
 * docs/benchmarks.md. Durations come from BENCH_SECONDS, BENCH_ROUNDS, BENCH_WARMUP_SECONDS, BENCH_SOAK_SECONDS; the
 * scaled-out API's PostgreSQL and Redis from BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test, in
 * a schema of its own, or behind PgBouncer a role and schema of its own, dropped at the end) and BENCH_REDIS_URL
 * (default redis://127.0.0.1:6379, under a key prefix of its own). PgBouncer is Debian's (/usr/sbin/pgbouncer).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import ts from 'typescript';
import type { BenchTokens, FetchCounts } from './issuer.js';
import { createPooledRole, DEPLOYED_PGBOUNCER_INI, PGBOUNCER, pgbouncerProblem, startPgBouncer, type PooledRole, type TestPgBouncer } from '../test/support/pgbouncer.js';
import { cpuSnapshot, eventLoopCpuMicros, killAllNow, memoryOf, othersCores, readPart, spawnChild, stopAll, type Child } from './procs.js';
import {
  API_ONLY_SCENARIOS,
  median,
  renderReport,
  SCALED_SCENARIOS,
  SCALED_SERVERS,
  SCENARIOS,
  SERVERS,
  TRACING_SERVERS,
  type BenchData,
  type PgBouncerInfo,
  type RunRecord,
  type Scenario,
  type ScenarioId,
  type ServerId,
  type Soak,
  type TracingSideBySide,
} from './report.js';
import { BENCH_AUDIENCE as AUDIENCE, ourApiEnv } from './api-env.js';
import { PAGE_SIZE } from './servers/common.js';
import { seedNotesPage } from './seed.js';
import { cpuSideBySide, SIDE_BY_SIDE_CONNECTIONS } from './side-by-side.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPORT_FILE = path.join(ROOT, 'docs', 'benchmarks.md');
const DATABASE_URL = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
/** The last commit before OpenTelemetry tracing (issue 24) landed: what tracing off is compared with. */
const BEFORE_TRACING = 'cd7823a';

function envSeconds(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > 3600) throw new Error(`${name} must be a whole number from ${min} to 3600`);
  return value;
}

const settings = {
  // Seven short rounds rather than three long ones: each ratio is a median of seven pairs, so one or two slow spells
  // of a shared machine cannot decide a target (docs/performance.md).
  seconds: envSeconds('BENCH_SECONDS', 3, 1),
  rounds: envSeconds('BENCH_ROUNDS', 7, 1),
  warmupSeconds: envSeconds('BENCH_WARMUP_SECONDS', 2, 0),
  soakSeconds: envSeconds('BENCH_SOAK_SECONDS', 60, 0),
  // V8 grows the heap for about 10 s under this load before it settles (measured with --trace-gc-nvp): RSS is
  // judged from then on.
  soakWarmupSeconds: envSeconds('BENCH_SOAK_WARMUP_SECONDS', 15, 0),
  connections: 10,
  // Issue 24's targets, side by side (bench/side-by-side.ts): TRACING_SERVERS loaded at once, round after round.
  tracingRounds: envSeconds('BENCH_TRACING_ROUNDS', 6, 1),
  tracingSeconds: envSeconds('BENCH_TRACING_SECONDS', 5, 1),
};

/**
 * The servers' order within a scenario, by round. Our API always runs next to bare Express, half the time first:
 * its ratio pairs two runs seconds apart, so a slow spell of the shared machine hits both or neither. The scaled-out
 * API always runs next to our API, half the time first, for the same reason: its POST rate is judged against our
 * API's (SQLite), and its `/v1/me` against our API's without Redis. The API behind PgBouncer always runs next to the
 * scaled-out API, its direct-PostgreSQL twin, on the side away from our API, half the time first: its figures are read
 * beside the twin's, and its POST rate, judged against our API's, is two runs from it, the twin's between them.
 */
const ORDERS: readonly ServerId[][] = [
  ['bare', 'api', 'scaled', 'pooled', 'library'],
  ['library', 'pooled', 'scaled', 'api', 'bare'],
  ['pooled', 'scaled', 'api', 'bare', 'library'],
  ['library', 'bare', 'api', 'scaled', 'pooled'],
];

/**
 * `GET /v1/me` and the invalid-token scenario, by round, as one block: a server's rejections are judged against its
 * `/v1/me` rate, so its two runs are next to each other (rejections first in half the rounds), and our API's
 * `/v1/me` is still next to bare Express's, as in ORDERS. The scaled-out API's `/v1/me` is next to our API's pair
 * (its rejection run between them): before it in half the rounds, after it in the others. The API behind PgBouncer's
 * `/v1/me` is next to the scaled-out API's, on the side away from our API's, as in ORDERS. The servers that measure
 * tracing's cost (issue 24) run on bare Express's side of our API, the build from before tracing nearest and this
 * build with tracing off next to it, in an order that changes by round (they are judged side by side afterwards).
 */
const ME_AND_REJECTIONS: readonly (readonly [ScenarioId, ServerId])[][] = [
  [['me', 'traced-all'], ['me', 'traced'], ['me', 'tracing-off'], ['me', 'untraced'], ['me', 'bare'], ['me', 'api'], ['invalid', 'api'], ['me', 'scaled'], ['me', 'pooled'], ['invalid', 'library'], ['me', 'library']],
  [['me', 'library'], ['invalid', 'library'], ['me', 'pooled'], ['me', 'scaled'], ['invalid', 'api'], ['me', 'api'], ['me', 'bare'], ['me', 'untraced'], ['me', 'tracing-off'], ['me', 'traced'], ['me', 'traced-all']],
  [['me', 'pooled'], ['me', 'scaled'], ['invalid', 'api'], ['me', 'api'], ['me', 'bare'], ['me', 'untraced'], ['me', 'tracing-off'], ['me', 'traced-all'], ['me', 'traced'], ['me', 'library'], ['invalid', 'library']],
  [['invalid', 'library'], ['me', 'library'], ['me', 'traced'], ['me', 'traced-all'], ['me', 'tracing-off'], ['me', 'untraced'], ['me', 'bare'], ['me', 'api'], ['invalid', 'api'], ['me', 'scaled'], ['me', 'pooled']],
];

/** Every run of one round, in order: the `/v1/me` and rejection block, then each other scenario in ORDERS' order. */
function roundSchedule(round: number): (readonly [ScenarioId, ServerId])[] {
  const turn = (round - 1) % ORDERS.length;
  const others = SCENARIOS.filter((scenario) => scenario.id !== 'me' && scenario.id !== 'invalid');
  return [...ME_AND_REJECTIONS[turn]!, ...others.flatMap((scenario) => ORDERS[turn]!.map((server) => [scenario.id, server] as const))];
}

interface Target {
  id: ServerId;
  child: Child;
  url: string;
  jwks: number;
  discovery: number;
}

// ---- process lifetime: every child is killed by PID on success, error, signal or watchdog ----

let current: autocannon.Instance | undefined;
let aborting: Promise<never> | undefined;
// The API behind PgBouncer's role (and schema) and its PgBouncer: not children of procs.ts, ended by stopPooler.
let pooledRole: PooledRole | undefined;
let pgbouncer: TestPgBouncer | undefined;
let pgbouncerInfo: PgBouncerInfo | undefined;
// Issue 24: where the traced servers export to (bench/servers/otlp-sink.ts), one sink each.
const otlpSinks: string[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-bench-'));

/**
 * Stops everything and exits. A second call (stopping the load makes main() fail, which aborts too) waits for the
 * first one's clean-up instead of exiting before it ends.
 */
function abort(code: number, reason: unknown): Promise<never> {
  aborting ??= (async () => {
    console.error(`bench: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
    current?.stop();
    await stopAll();
    await stopPooler().catch(() => undefined);
    await dropSchema().catch(() => undefined);
    console.error(`bench: stopped every child process; their logs are in ${tmp}`);
    process.exit(code);
  })();
  return aborting;
}
process.on('exit', () => {
  killAllNow();
  pgbouncer?.stopNow();
});
process.once('SIGINT', () => void abort(130, 'interrupted'));
process.once('SIGTERM', () => void abort(143, 'terminated'));

// An upper bound: every server in every scenario, though some servers run only some; the API behind PgBouncer is one
// of SERVERS, its PgBouncer's start and stop within the fixed 600 s.
const perRun = settings.seconds + 1;
const budgetSeconds =
  600 + 2 * (SERVERS.length * SCENARIOS.length * (settings.warmupSeconds + 1 + settings.rounds * perRun)) + 2 * (settings.soakWarmupSeconds + settings.soakSeconds + 30);
setTimeout(() => void abort(1, `watchdog: the bench took longer than ${budgetSeconds} s`), budgetSeconds * 1000).unref();

// ---- helpers ----

async function http(url: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
}

const percentile = (sorted: Float64Array, p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

const phases: Record<string, number> = {};
/** Cores' worth of CPU that other processes on the machine took during each phase: how noisy the run was. */
const others: Record<string, number> = {};
async function phase<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const cpu = cpuSnapshot();
  console.error(`bench: ${name}…`);
  try {
    return await work();
  } finally {
    phases[name] = Math.round((performance.now() - started) / 100) / 10;
    others[name] = Math.round(othersCores(cpu, cpuSnapshot(), os.cpus().length) * 100) / 100;
  }
}

// ---- the load ----

function requestsFor(scenario: Scenario, tokens: BenchTokens): { headers?: Record<string, string>; requests?: autocannon.Request[] } {
  const auth = (token: string) => ({
    authorization: `Bearer ${token}`,
    ...(scenario.body ? { 'content-type': 'application/json' } : {}),
  });
  if (scenario.tokens === 'many') return { requests: tokens.many.map((token) => ({ headers: auth(token) })) };
  return { headers: auth(tokens[scenario.tokens]) };
}

interface Measurement {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  non401: number;
  errors: number;
  statuses: Record<string, number>;
}

/** One autocannon run of `seconds`, bounded; latencies are kept per response for sub-millisecond percentiles. */
async function load(target: Target, scenario: Scenario, tokens: BenchTokens, seconds: number): Promise<Measurement> {
  const { headers, requests } = requestsFor(scenario, tokens);
  let nextOffset = 0;
  const options: autocannon.Options = {
    url: `${target.url}${scenario.path}`,
    connections: settings.connections,
    duration: seconds,
    timeout: 10,
    method: scenario.method,
    ...(headers ? { headers } : {}),
    ...(scenario.body ? { body: scenario.body } : {}),
    ...(requests
      ? {
          requests,
          // Each connection starts at its own place in the 1,000 tokens, so no two send the same token together.
          setupClient: (client: autocannon.Client) => {
            const offset = (nextOffset++ * Math.floor(requests.length / settings.connections)) % requests.length;
            client.setRequests([...requests.slice(offset), ...requests.slice(0, offset)]);
          },
        }
      : {}),
  };
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  // Timed from autocannon's `start`, after the connections' requests are built (1,000 of them take a while).
  let startedAt = performance.now();
  let endedAt = startedAt;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`autocannon did not finish within ${seconds + 30} s`)), (seconds + 30) * 1000);
    const instance = autocannon(options, (error: unknown, done: autocannon.Result) => {
      endedAt = performance.now();
      clearTimeout(timer);
      current = undefined;
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(done);
    });
    current = instance;
    instance.on('start', () => {
      startedAt = performance.now();
    });
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = responseTime;
    });
  });
  const sorted = latencies.subarray(0, count).sort();
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0]));
  return {
    rps: count / ((endedAt - startedAt) / 1000),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    requests: count,
    non2xx: result.non2xx,
    non401: count - (statuses['401'] ?? 0),
    errors: result.errors + result.timeouts,
    statuses,
  };
}

// ---- main ----

async function main(): Promise<void> {
  const started = performance.now();
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((value) => Math.round(value * 100) / 100),
    date: new Date().toISOString(),
  };

  await phase('build', async () => {
    const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit', timeout: 300_000 });
    if (build.status !== 0) throw new Error(`npm run build failed (${build.error?.message ?? `exit ${build.status}`})`);
  });

  const compiled = await phase('compile comparison servers', async () => compileServers());
  const beforeTracing = await phase('build before tracing', async () => buildBeforeTracing());
  const tsx = (file: string) => ['--import', 'tsx', path.join(ROOT, 'bench', file)];
  const { issuerUrl, tokens, targets } = await phase('start', async () => {
    const issuer = await spawnChild({
      name: 'issuer',
      command: process.execPath,
      args: tsx('issuer.ts'),
      env: cleanEnv({ AUDIENCE }),
      cwd: ROOT,
      logDir: tmp,
      ready: /"issuer":"([^"]+)"/,
      timeoutMs: 30_000,
    });
    const issuerUrl = issuer.ready;
    const tokens = JSON.parse((await http(`${issuerUrl}_bench/tokens`)).body) as BenchTokens;
    const comparison = (id: ServerId, file: string) =>
      spawnChild({
        name: id,
        command: process.execPath,
        args: [path.join(compiled, file)],
        env: cleanEnv({ NODE_ENV: 'production', ISSUER_BASE_URL: issuerUrl, AUDIENCE }),
        cwd: ROOT,
        logDir: tmp,
        ready: /\{"port":(\d+)\}/,
        timeoutMs: 30_000,
      }).then(({ child, ready }) => ({ id, child, url: `http://127.0.0.1:${ready}`, jwks: 0, discovery: 0 }));
    const bare = await comparison('bare', 'bare.js');
    const library = await comparison('library', 'library.js');
    // Our API from its build, as each of its three configurations: the same production settings (ourApiEnv) and `extra`.
    // Its own folder as working directory, so no stray .env changes the configuration.
    const ours = (id: ServerId, extra: Record<string, string> = {}, main = path.join(ROOT, 'dist', 'src', 'main.js')) =>
      spawnChild({
        name: id,
        command: process.execPath,
        args: [main],
        env: cleanEnv({ ...ourApiEnv(issuerUrl, path.join(tmp, 'notes.db')), ...extra }),
        cwd: tmp,
        logDir: tmp,
        ready: /listening on (http:\/\/127\.0\.0\.1:\d+)/,
        timeoutMs: 30_000,
      }).then(({ child, ready }): Target => ({ id, child, url: ready, jwks: 0, discovery: 0 }));
    const api = await ours('api');
    await createSchema();
    const scaled = await ours('scaled', scaledEnv());
    const { url: pooledDatabaseUrl, info } = await startPooler();
    const pooled = await ours('pooled', pooledEnv(pooledDatabaseUrl));
    pgbouncerInfo = { ...info, statementBound: statementBoundOf(pooled) };
    // Issue 24: the build from before tracing (its own database file), and this one exporting traces to a local sink.
    const untraced = beforeTracing.main ? [await ours('untraced', { DATABASE_URL: path.join(tmp, 'untraced.db') }, beforeTracing.main)] : [];
    // This build with tracing off, serving only what the tracing servers serve: what they are judged against.
    const tracingOff = await ours('tracing-off', { DATABASE_URL: path.join(tmp, 'tracing-off.db') });
    // Each traced server exports to a sink of its own: the one sampling every request sends about 14,000 spans a
    // second, and a sink busy with those would slow the other's exports (and its figure) for a reason of the bench's.
    const traced = async (id: ServerId, sampler: Record<string, string>) => {
      const { ready: sinkPort } = await spawnChild({
        name: `otlp-sink-${id}`,
        command: process.execPath,
        args: [path.join(compiled, 'otlp-sink.js')],
        env: cleanEnv({}),
        cwd: ROOT,
        logDir: tmp,
        ready: /\{"port":(\d+)\}/,
        timeoutMs: 30_000,
      });
      const sink = `http://127.0.0.1:${sinkPort}`;
      otlpSinks.push(sink);
      return ours(id, { DATABASE_URL: path.join(tmp, `${id}.db`), OTEL_EXPORTER_OTLP_ENDPOINT: sink, ...sampler });
    };
    const tracing = [
      tracingOff,
      ...untraced,
      await traced('traced', { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }),
      await traced('traced-all', { OTEL_TRACES_SAMPLER: 'parentbased_always_on' }),
    ];
    return { issuerUrl, tokens, targets: [bare, library, api, scaled, pooled, ...tracing] };
  });

  const counts = async () => JSON.parse((await http(`${issuerUrl}_bench/count`)).body) as FetchCounts;
  /** Servers are driven one at a time, so the issuer's fetches during `work` are that server's. */
  const attributed = async <T>(target: Target, work: () => Promise<T>): Promise<T> => {
    const before = await counts();
    try {
      return await work();
    } finally {
      const after = await counts();
      target.jwks += after.jwks - before.jwks;
      target.discovery += after.discovery - before.discovery;
    }
  };
  const applies = (target: Target, scenario: Scenario) =>
    TRACING_SERVERS.includes(target.id)
      ? scenario.id === 'me'
      : API_ONLY_SCENARIOS.includes(scenario.id)
      ? target.id === 'api'
      : SCALED_SERVERS.includes(target.id) ? SCALED_SCENARIOS.includes(scenario.id) : target.id !== 'bare' || scenario.id !== 'invalid';
  const api = targets.find((target) => target.id === 'api')!;

  await phase('seed and check', async () => {
    for (const ours of targets.filter((target) => target.id === 'api' || SCALED_SERVERS.includes(target.id))) {
      await attributed(ours, () => seedNotesPage(ours.url, tokens.one));
    }
    const shapes = new Map<string, string>();
    for (const target of targets) {
      await attributed(target, async () => {
        for (const scenario of SCENARIOS.filter((s) => applies(target, s))) {
          const token = scenario.tokens === 'many' ? tokens.many[0]! : tokens[scenario.tokens];
          const { status, body } = await http(`${target.url}${scenario.path}`, {
            method: scenario.method,
            headers: { authorization: `Bearer ${token}`, ...(scenario.body ? { 'content-type': 'application/json' } : {}) },
            ...(scenario.body ? { body: scenario.body } : {}),
          });
          const ok = scenario.id === 'invalid' ? status === 401 : status >= 200 && status < 300;
          if (!ok) throw new Error(`${target.id} ${scenario.id}: unexpected ${status} ${body.slice(0, 300)}`);
          if (scenario.id === 'invalid') continue;
          // The same response shape from every server: same keys, and a page of 20 notes.
          const json = JSON.parse(body) as Record<string, unknown>;
          const shape = Object.keys(json).sort().join(',') + (Array.isArray(json.items) ? ` items=${json.items.length}` : '');
          const expected = shapes.get(scenario.id) ?? shape;
          shapes.set(scenario.id, expected);
          if (shape !== expected) throw new Error(`${target.id} ${scenario.id}: body shape ${shape}, expected ${expected}`);
        }
      });
    }
    if (shapes.get('notes-get') !== `items,next_cursor items=${PAGE_SIZE}`) throw new Error(`notes page is ${shapes.get('notes-get')}`);
  });
  // Issue 23: what one introspection costs a request (a cache miss) against a cached answer, one request at a time.
  const introspection = await phase('introspection miss cost', () => attributed(api, () => introspectionMissCost(api, tokens)));

  if (settings.warmupSeconds > 0) {
    await phase('warm-up', async () => {
      for (const target of targets) {
        await attributed(target, async () => {
          for (const scenario of SCENARIOS.filter((s) => applies(target, s))) await load(target, scenario, tokens, settings.warmupSeconds);
        });
      }
    });
  }

  const runs: RunRecord[] = [];
  const pgbouncerLogBefore = pgbouncer?.output().length ?? 0;
  await phase('rounds', async () => {
    for (let round = 1; round <= settings.rounds; round++) {
      for (const [scenarioId, serverId] of roundSchedule(round)) {
        const scenario = SCENARIOS.find((s) => s.id === scenarioId)!;
        const target = targets.find((t) => t.id === serverId);
        if (!target || !applies(target, scenario)) continue;
        const cpuBefore = eventLoopCpuMicros(target.child.pid);
        const measured = await attributed(target, () => load(target, scenario, tokens, settings.seconds));
        const cpuUsPerRequest = (eventLoopCpuMicros(target.child.pid) - cpuBefore) / measured.requests;
        runs.push({ round, server: target.id, scenario: scenario.id, ...measured, cpuUsPerRequest });
        console.error(
          `bench: round ${round} ${scenario.id.padEnd(10)} ${target.id.padEnd(7)} ${measured.rps.toFixed(0).padStart(6)} req/s` +
            `  p50 ${measured.p50.toFixed(2)} ms  p99 ${measured.p99.toFixed(2)} ms  ${cpuUsPerRequest.toFixed(0)} µs CPU/req  statuses ${JSON.stringify(measured.statuses)}`,
        );
        await sleep(250);
      }
    }
  });
  reportPgBouncerComplaints(pgbouncerLogBefore);
  const tracingSideBySide = await tracingCostSideBySide(targets, tokens);
  const peaks = Object.fromEntries(targets.map((target) => [target.id, memoryOf(target.child.pid).peak])) as Record<ServerId, number>;

  let soak: Soak | null = null;
  if (settings.soakSeconds > 0) {
    soak = await phase('soak', () => attributed(api, () => soakApi(api, tokens)));
  }

  const data: BenchData = {
    machine,
    settings: { ...settings, audience: AUDIENCE },
    timings: { ...phases, total: Math.round((performance.now() - started) / 100) / 10 },
    otherCpuCores: { ...others },
    loadAverageAtEnd: os.loadavg().map((value) => Math.round(value * 100) / 100),
    runs,
    servers: targets.map((target) => ({ id: target.id, peakRssBytes: peaks[target.id], jwksFetches: target.jwks, discoveryFetches: target.discovery })),
    soak,
    introspection,
    apiEnvironment: ourApiEnv('<bench issuer>', '<temporary folder>/notes.db'),
    scaledEnvironment: { DATABASE_URL: '<BENCH_DATABASE_URL, a schema of its own>', REDIS_URL: '<BENCH_REDIS_URL>', REDIS_KEY_PREFIX: '<a prefix of its own>' },
    pooledEnvironment: {
      DATABASE_URL: "postgres://<a role of its own>:<its password>@127.0.0.1:<PgBouncer's port>/notes",
      REDIS_URL: '<BENCH_REDIS_URL>',
      REDIS_KEY_PREFIX: '<a prefix of its own>',
    },
    ...(pgbouncerInfo ? { pgbouncer: pgbouncerInfo } : {}),
    beforeTracing: { commit: beforeTracing.commit, ...(beforeTracing.skipped ? { skipped: beforeTracing.skipped } : {}) },
    ...(tracingSideBySide ? { tracingSideBySide } : {}),
    ...(otlpSinks.length > 0 ? { otlpBytes: await exportedBytes(otlpSinks) } : {}),
  };
  fs.mkdirSync(path.dirname(REPORT_FILE), { recursive: true });
  fs.writeFileSync(REPORT_FILE, renderReport(data));
  console.error(`bench: wrote ${path.relative(ROOT, REPORT_FILE)} in ${data.timings.total} s`);
}

/**
 * Issue 24: this build with tracing off, the build before tracing and the two traced servers, loaded side by side on
 * `GET /v1/me` (bench/side-by-side.ts), each server's event-loop CPU per request in each round. The rounds above run
 * one server at a time, and there the same code has measured between 0.81× and 1.03× of itself (docs/performance.md):
 * too coarse for a 2 % target. Nothing when the traced servers did not run.
 */
async function tracingCostSideBySide(targets: readonly Target[], tokens: BenchTokens): Promise<TracingSideBySide | undefined> {
  const servers = TRACING_SERVERS.flatMap((id) => targets.filter((target) => target.id === id));
  if (!servers.some((server) => server.id === 'traced')) return undefined;
  return phase('tracing side by side', async () => {
    const loaded = servers.map((server) => ({ url: server.url, pid: server.child.pid }));
    const cpu = await cpuSideBySide(loaded, { path: '/v1/me', token: tokens.one, rounds: settings.tracingRounds, seconds: settings.tracingSeconds });
    servers.forEach((server, i) => console.error(`bench: side by side ${server.id.padEnd(10)} ${cpu[i]!.map((value) => value.toFixed(0)).join(' / ')} µs CPU/req`));
    return {
      rounds: settings.tracingRounds,
      seconds: settings.tracingSeconds,
      connections: SIDE_BY_SIDE_CONNECTIONS,
      cpuUsPerRequest: Object.fromEntries(servers.map((server, i) => [server.id, cpu[i]!])),
    };
  });
}

/** What the traced servers' sinks received, in all. */
async function exportedBytes(sinks: string[]): Promise<number> {
  let bytes = 0;
  for (const sink of sinks) bytes += (JSON.parse((await http(`${sink}/_bytes`)).body) as { bytes: number }).bytes;
  return bytes;
}

/**
 * Issue 24's baseline: the API as it was before tracing (BENCH_BEFORE_TRACING, default the commit before tracing
 * landed), from `git archive` into a temporary folder, compiled as `npm run build` does with this checkout's
 * node_modules (tracing added dependencies and removed none). Without git or that commit, it is reported as not run.
 */
function buildBeforeTracing(): { commit: string; main?: string; skipped?: string } {
  const commit = process.env.BENCH_BEFORE_TRACING || BEFORE_TRACING;
  const dir = path.join(tmp, 'before-tracing');
  fs.mkdirSync(dir);
  const archive = spawnSync('git', ['-C', ROOT, 'archive', '--format=tar', commit], { maxBuffer: 512 * 2 ** 20, timeout: 60_000 });
  if (archive.status !== 0) return { commit, skipped: `git archive ${commit} failed (${archive.error?.message ?? archive.stderr.toString().trim()})` };
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout, timeout: 60_000 });
  if (untar.status !== 0) return { commit, skipped: `tar: ${untar.stderr.toString().trim()}` };
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: dir,
    stdio: 'inherit',
    timeout: 300_000,
  });
  if (tsc.status !== 0) return { commit, skipped: `its build failed (exit ${tsc.status})` };
  return { commit, main: path.join(dir, 'dist', 'src', 'main.js') };
}

/**
 * The comparison servers run as plain JavaScript, like our API's build: under tsx its loader thread and source maps
 * would cost them memory and time our API does not pay. Types are checked by `npx tsc --noEmit`; this only strips them.
 */
function compileServers(): string {
  const out = path.join(tmp, 'servers');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(tmp, 'package.json'), '{"type":"module"}\n');
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(tmp, 'node_modules'));
  const source = path.join(ROOT, 'bench', 'servers');
  for (const file of fs.readdirSync(source).filter((name) => name.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(fs.readFileSync(path.join(source, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      fileName: file,
    });
    fs.writeFileSync(path.join(out, file.replace(/\.ts$/, '.js')), outputText);
  }
  return out;
}

/** Issue 23: median latency of GET /v1/me with a cached opaque token, and with a new one (one introspection) each time. */
async function introspectionMissCost(api: Target, tokens: BenchTokens): Promise<{ hitMs: number; missMs: number; samples: number }> {
  const timed = async (token: string): Promise<number> => {
    const started = performance.now();
    const { status, body } = await http(`${api.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    if (status !== 200) throw new Error(`opaque token on /v1/me: ${status} ${body.slice(0, 300)}`);
    return performance.now() - started;
  };
  await timed(tokens.opaque);
  const hits: number[] = [];
  const misses: number[] = [];
  for (const fresh of tokens.opaqueFresh) {
    misses.push(await timed(fresh));
    hits.push(await timed(tokens.opaque));
  }
  return { hitMs: median(hits), missMs: median(misses), samples: misses.length };
}

/** A schema of the scaled-out API's own in BENCH_DATABASE_URL, so the bench never meets another run's notes. */
const SCHEMA = `bench_${process.pid}_${Date.now().toString(36)}`;
let schemaCreated = false;

async function onDatabase(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(sql);
  } catch (error) {
    throw new Error(
      `PostgreSQL at ${new URL(DATABASE_URL).host} (BENCH_DATABASE_URL): ${(error as Error).message}. The bench's scaled-out API needs ` +
        'PostgreSQL and Redis: .ci/run starts both when installed.',
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function createSchema(): Promise<void> {
  await onDatabase(`CREATE SCHEMA ${SCHEMA}`);
  schemaCreated = true;
}

async function dropSchema(): Promise<void> {
  if (!schemaCreated) return;
  schemaCreated = false;
  await onDatabase(`DROP SCHEMA ${SCHEMA} CASCADE`);
}

/** Our API scaled out: the same production settings (ourApiEnv), notes in PostgreSQL, shared state in Redis. */
function scaledEnv(): Record<string, string> {
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${SCHEMA}`);
  return { DATABASE_URL: url.toString(), REDIS_URL, REDIS_KEY_PREFIX: `bench-${SCHEMA}:` };
}

// ---- the API behind PgBouncer (issue 22): a role and schema of its own, a private PgBouncer; both ended with the children ----

/** What the API's statements are bounded by on the server, through PgBouncer: the role's own setting. */
const POOLED_ROLE_STATEMENT_TIMEOUT_MS = 5000;

/** Stops the bench at once, in one line saying what to install, when PgBouncer is not there (before the build). */
function requirePgBouncer(): void {
  const problem = pgbouncerProblem('npm run bench (its scaled-out API behind PgBouncer) needs');
  if (problem) {
    console.error(`bench: ${problem}`);
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(1);
  }
}

/** deploy/pgbouncer.ini's settings that shape what the bench measures, as the file has them. */
function deployedPgBouncerSettings(): Record<string, string> {
  const ini = fs.readFileSync(DEPLOYED_PGBOUNCER_INI, 'utf8');
  const keys = ['pool_mode', 'default_pool_size', 'max_client_conn', 'ignore_startup_parameters', 'query_wait_timeout'];
  return Object.fromEntries(
    keys.flatMap((key) => {
      const value = new RegExp(`^${key}\\s*=\\s*(.*?)\\s*$`, 'm').exec(ini)?.[1];
      return value === undefined ? [] : [[key, value]];
    }),
  );
}

/** A role and schema of its own in BENCH_DATABASE_URL, and PgBouncer in front of it with deploy/pgbouncer.ini. */
async function startPooler(): Promise<{ url: string; info: Omit<PgBouncerInfo, 'statementBound'> }> {
  pooledRole = await createPooledRole({ databaseUrl: DATABASE_URL, statementTimeoutMs: POOLED_ROLE_STATEMENT_TIMEOUT_MS });
  pgbouncer = await startPgBouncer([pooledRole], { databaseUrl: DATABASE_URL });
  const version = spawnSync(PGBOUNCER, ['--version'], { encoding: 'utf8', timeout: 10_000 }).stdout?.split('\n')[0]?.trim() || 'PgBouncer';
  return {
    url: pgbouncer.urlFor(pooledRole),
    info: { version, settings: deployedPgBouncerSettings(), roleStatementTimeoutMs: POOLED_ROLE_STATEMENT_TIMEOUT_MS },
  };
}

/** PgBouncer first (it holds the role's server connections; its log is kept with the others'), then the role and its schema. */
async function stopPooler(): Promise<void> {
  const [bouncer, role] = [pgbouncer, pooledRole];
  pgbouncer = pooledRole = undefined;
  try {
    if (bouncer) {
      fs.writeFileSync(path.join(tmp, 'pgbouncer.log'), bouncer.output());
      await bouncer.close();
    }
  } finally {
    await role?.drop();
  }
}

/**
 * Says on stderr whether PgBouncer logged warnings or errors during the rounds (a refused client, a server it lost),
 * from `from` in its log on: before, each API start logs one by design (its pool offers the statement_timeout startup
 * parameter first, and PgBouncer refuses it).
 */
function reportPgBouncerComplaints(from: number): void {
  const complaints = (pgbouncer?.output() ?? '').slice(from).split('\n').filter((line) => /\b(WARNING|ERROR|FATAL)\b/.test(line));
  if (complaints.length > 0) console.error(`bench: PgBouncer logged ${complaints.length} warnings or errors during the rounds; the first: ${complaints[0]}`);
}

/** The API behind PgBouncer: the same production settings (ourApiEnv), notes through PgBouncer, shared state in Redis. */
function pooledEnv(databaseUrl: string): Record<string, string> {
  return { DATABASE_URL: databaseUrl, REDIS_URL, REDIS_KEY_PREFIX: `bench-${SCHEMA}-pooled:` };
}

/**
 * The API's start-up line saying how it bounds its statements. Behind PgBouncer it must be the role's setting (one
 * round trip per statement): `BEGIN; SET LOCAL …; COMMIT` would be a different thing to measure, so that stops the bench.
 */
function statementBoundOf(target: Target): string {
  const log = readPart(target.child.stdoutFile, 'start');
  const line = /"msg":"(statements [^"]*)"/.exec(log)?.[1];
  if (!line?.startsWith("statements are bounded by the server's statement_timeout")) {
    throw new Error(`${target.id}: expected the role's statement_timeout to bound its statements through PgBouncer; the API said: ${line ?? '(nothing)'}`);
  }
  return line;
}

/** The API's `token_cache_entries` gauge, from its metrics listener (its URL is in the API's log); null if unread. */
async function tokenCacheEntries(api: Target): Promise<number | null> {
  const url = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(readPart(api.child.stdoutFile, 'start'))?.[1];
  if (!url) return null;
  const value = /^token_cache_entries (\d+)$/m.exec((await http(url)).body)?.[1];
  return value === undefined ? null : Number(value);
}

/** A steady run of our API on `/v1/me` with 1,000 tokens, after a warm-up, sampling RSS every second. */
async function soakApi(api: Target, tokens: BenchTokens): Promise<Soak> {
  const scenario = SCENARIOS.find((s) => s.id === 'me-1000')!;
  if (settings.soakWarmupSeconds > 0) await load(api, scenario, tokens, settings.soakWarmupSeconds);
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(memoryOf(api.child.pid).rss), 1000);
  let measured: Measurement;
  try {
    measured = await load(api, scenario, tokens, settings.soakSeconds);
  } finally {
    clearInterval(sampler);
  }
  if (samples.length === 0) samples.push(memoryOf(api.child.pid).rss);
  const start = samples[0]!;
  const end = samples.at(-1)!;
  const deviation = (value: number) => ((value - start) / start) * 100;
  const sixth = Math.max(1, Math.floor(samples.length / 6));
  const first = median(samples.slice(0, sixth));
  const [min, max] = [Math.min(...samples), Math.max(...samples)];
  return {
    seconds: settings.soakSeconds,
    warmupSeconds: settings.soakWarmupSeconds,
    rps: measured.rps,
    p99: measured.p99,
    non2xx: measured.non2xx,
    samplesBytes: samples,
    startBytes: start,
    endBytes: end,
    minBytes: min,
    maxBytes: max,
    bandPct: ((max - min) / (max + min)) * 100,
    tokenCacheEntries: await tokenCacheEntries(api),
    maxDeviationPct: Math.max(...samples.map((value) => Math.abs(deviation(value)))),
    trendPct: ((median(samples.slice(-sixth)) - first) / first) * 100,
  };
}

try {
  requirePgBouncer();
  await main();
  await stopAll();
  await stopPooler();
  await dropSchema();
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(0);
} catch (error) {
  await abort(1, error);
}
