/**
 * `npm run bench:tracing`: where tracing's cost to `GET /v1/me` is (issue 24). Starts the bench issuer, the OTLP/HTTP
 * sink `npm run bench` uses (bench/servers/otlp-sink.ts: it reads and discards what it gets, as a collector's receiver
 * would), and our API from dist/ in the bench's production configuration (bench/api-env.ts), four ways: tracing off
 * (no OTLP endpoint: the SDK is not loaded), on with none sampled (what tracing costs a request before any span is
 * recorded), on with `parentbased_traceidratio` at 0.1, and on with every request sampled.
 *
 * They run **side by side** (bench/side-by-side.ts, as `npm run bench` judges issue 24's targets): in each of
 * BENCH_ROUNDS rounds of BENCH_SECONDS (defaults 6 × 5 s, after BENCH_WARMUP_SECONDS), each server gets its own
 * autocannon at the same time, so a slow spell of the shared machine hits all of them at once. What it prints is each
 * server's event-loop CPU per request (median over rounds) and its ratio to tracing off's in the same round: req/s is
 * not comparable this way, since the servers share the cores. docs/performance.md has what this one found.
 *
 * Two settings for looking further: BENCH_TRACING_RATIOS (default `0.1`) is the list of `parentbased_traceidratio`
 * ratios to run beside the other three (e.g. `0.01,0.1,0.5`: each is one more server), and BENCH_TRACING_PATH
 * (default `/v1/me`) the route loaded: `/v1/notes` first gives each server's user the bench's page of 20 notes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchTokens } from './issuer.js';
import { BENCH_AUDIENCE as AUDIENCE, ourApiEnv } from './api-env.js';
import { killAllNow, spawnChild, stopAll } from './procs.js';
import { cpuRatio, median } from './report.js';
import { seedNotesPage } from './seed.js';
import { cpuSideBySide, SIDE_BY_SIDE_CONNECTIONS } from './side-by-side.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-bench-tracing-'));

const routePath = process.env.BENCH_TRACING_PATH ?? '/v1/me';
if (routePath !== '/v1/me' && routePath !== '/v1/notes') throw new Error('BENCH_TRACING_PATH: /v1/me or /v1/notes');
const ratios = (process.env.BENCH_TRACING_RATIOS ?? '0.1').split(',').map((ratio) => ratio.trim());
if (!ratios.every((ratio) => /^(0(\.\d+)?|1)$/.test(ratio))) throw new Error('BENCH_TRACING_RATIOS: ratios between 0 and 1, e.g. 0.01,0.1');

const VARIANTS: readonly { id: string; label: string; env: Record<string, string> }[] = [
  { id: 'off', label: 'tracing off (no endpoint)', env: {} },
  { id: 'never', label: 'on, never sampled', env: { OTEL_TRACES_SAMPLER: 'parentbased_always_off' } },
  ...ratios.map((ratio) => ({
    id: `ratio-${ratio}`,
    label: `on, parentbased_traceidratio ${ratio}`,
    env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: ratio },
  })),
  { id: 'all', label: 'on, every request sampled', env: { OTEL_TRACES_SAMPLER: 'parentbased_always_on' } },
];

process.on('exit', killAllNow);
setTimeout(() => {
  console.error('bench:tracing: watchdog');
  process.exit(1);
}, (120 + warmupSeconds + 2 + rounds * (seconds + 2)) * 1000).unref();

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit', timeout: 300_000 });
  if (build.status !== 0) throw new Error('npm run build failed');
  // The sink `npm run bench` uses, in a process of its own: receiving does not take the load generator's CPU.
  const { ready: sinkPort } = await spawnChild({
    name: 'otlp-sink',
    command: process.execPath,
    args: ['--import', 'tsx', path.join(ROOT, 'bench', 'servers', 'otlp-sink.ts')],
    env: { PATH: process.env.PATH },
    cwd: ROOT,
    logDir: tmp,
    ready: /\{"port":(\d+)\}/,
    timeoutMs: 30_000,
  });
  const sink = `http://127.0.0.1:${sinkPort}`;
  const issuer = await spawnChild({
    name: 'issuer',
    command: process.execPath,
    args: ['--import', 'tsx', path.join(ROOT, 'bench', 'issuer.ts')],
    env: { PATH: process.env.PATH, AUDIENCE },
    cwd: ROOT,
    logDir: tmp,
    ready: /"issuer":"([^"]+)"/,
    timeoutMs: 30_000,
  });
  const tokens = (await (await fetch(`${issuer.ready}_bench/tokens`)).json()) as BenchTokens;
  const servers = [];
  for (const variant of VARIANTS) {
    const { ready, child } = await spawnChild({
      name: `api-${variant.id}`,
      command: process.execPath,
      args: [path.join(ROOT, 'dist', 'src', 'main.js')],
      env: {
        PATH: process.env.PATH,
        ...ourApiEnv(issuer.ready, path.join(tmp, `${variant.id}.db`)),
        ...(variant.id === 'off' ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: sink }),
        ...variant.env,
      },
      cwd: tmp,
      logDir: tmp,
      ready: /listening on (http:\/\/127\.0\.0\.1:\d+)/,
      timeoutMs: 30_000,
    });
    servers.push({ variant, url: ready, pid: child.pid });
  }
  if (routePath === '/v1/notes') for (const server of servers) await seedNotesPage(server.url, tokens.one);
  const load = { path: routePath, token: tokens.one, seconds };
  if (warmupSeconds > 0) await cpuSideBySide(servers, { ...load, rounds: 1, seconds: warmupSeconds });
  const cpu = await cpuSideBySide(servers, { ...load, rounds });
  const off = cpu[0]!;
  console.log(`\n| ${routePath}, side by side, ${rounds} rounds × ${seconds} s, ${SIDE_BY_SIDE_CONNECTIONS} connections each | event-loop CPU µs/req (median) | per round | × tracing off by CPU (same round, median) |`);
  console.log('| --- | ---: | --- | ---: |');
  servers.forEach((server, i) => {
    const own = cpu[i]!;
    console.log(`| ${server.variant.label} | ${median(own).toFixed(1)} | ${own.map((value) => value.toFixed(0)).join(' / ')} | ${cpuRatio(own, off).toFixed(3)} |`);
  });
  const { bytes } = (await (await fetch(`${sink}/_bytes`)).json()) as { bytes: number };
  console.log(`\nOTLP bytes received: ${bytes}; logs in ${tmp}`);
  await stopAll();
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    console.error(`bench:tracing: ${(error as Error).stack ?? String(error)}`);
    await stopAll();
    process.exit(1);
  },
);
