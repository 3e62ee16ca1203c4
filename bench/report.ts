import { NOTE_BODY, NOTE_TITLE } from './servers/common.js';

export type ServerId = 'bare' | 'library' | 'api' | 'scaled' | 'pooled' | 'tracing-off' | 'untraced' | 'traced' | 'traced-all';
export type ScenarioId = 'me' | 'me-1000' | 'notes-get' | 'notes-post' | 'invalid' | 'me-opaque';

export interface Scenario {
  id: ScenarioId;
  title: string;
  method: 'GET' | 'POST';
  path: string;
  /** Which of the issuer's tokens the requests carry. */
  tokens: 'one' | 'many' | 'writer' | 'invalid' | 'opaque';
  body?: string;
  /** The bare-Express scenario this one is compared with (bare Express has no invalid-token case). */
  ceiling: ScenarioId;
}

export const SERVERS: readonly { id: ServerId; title: string }[] = [
  { id: 'bare', title: 'bare Express 5 (ceiling)' },
  { id: 'library', title: 'Express 5 + auth() + requiredScopes()' },
  { id: 'api', title: 'our API, production configuration' },
  { id: 'scaled', title: 'our API scaled out: PostgreSQL + Redis' },
  { id: 'pooled', title: 'our API scaled out: PostgreSQL via PgBouncer (transaction mode) + Redis' },
  { id: 'tracing-off', title: "our API, tracing off, serving GET /v1/me only (the tracing servers' twin)" },
  { id: 'untraced', title: 'our API as built before tracing (BENCH_BEFORE_TRACING), production configuration' },
  { id: 'traced', title: 'our API, tracing on: parentbased_traceidratio 0.1, OTLP to a local sink' },
  { id: 'traced-all', title: 'our API, tracing on: every request sampled, OTLP to a local sink' },
];

/**
 * Issue 24: what tracing costs `GET /v1/me`: this build with tracing off, the build from before tracing, and this
 * build with tracing on at two sampling rates. They run `GET /v1/me` only, so each has the same history: our API
 * (`api`) also serves every other scenario, which side by side made its `/v1/me` about a tenth dearer than that of a
 * server that serves nothing else (docs/performance.md); it is not what tracing is judged against.
 */
export const TRACING_SERVERS: readonly ServerId[] = ['tracing-off', 'untraced', 'traced', 'traced-all'];

/** Our API scaled out: on PostgreSQL directly, and through PgBouncer in transaction mode (issue 22). */
export const SCALED_SERVERS: readonly ServerId[] = ['scaled', 'pooled'];

/** What the scaled-out API runs: notes from PostgreSQL, `/v1/me` with rate limits synchronised through Redis. */
export const SCALED_SCENARIOS: readonly ScenarioId[] = ['me', 'notes-get', 'notes-post'];

export const SCENARIOS: readonly Scenario[] = [
  { id: 'me', title: 'GET /v1/me, one token', method: 'GET', path: '/v1/me', tokens: 'one', ceiling: 'me' },
  // Judged against `me` in the same round: each server runs the two next to each other (bench/run.ts, roundSchedule).
  { id: 'invalid', title: 'GET /v1/me, invalid token (401)', method: 'GET', path: '/v1/me', tokens: 'invalid', ceiling: 'me' },
  { id: 'me-1000', title: 'GET /v1/me, 1,000 tokens', method: 'GET', path: '/v1/me', tokens: 'many', ceiling: 'me-1000' },
  { id: 'notes-get', title: 'GET /v1/notes (20 notes)', method: 'GET', path: '/v1/notes', tokens: 'one', ceiling: 'notes-get' },
  {
    id: 'notes-post',
    title: 'POST /v1/notes',
    method: 'POST',
    path: '/v1/notes',
    tokens: 'writer',
    body: JSON.stringify({ title: NOTE_TITLE, body: NOTE_BODY }),
    ceiling: 'notes-post',
  },
  // Issue 23: an opaque token, introspected once and then served from the cache; judged against our API's `me`.
  { id: 'me-opaque', title: 'GET /v1/me, one opaque token (introspection cached)', method: 'GET', path: '/v1/me', tokens: 'opaque', ceiling: 'me' },
];

/** Scenarios only our API runs (the others know no opaque tokens). */
export const API_ONLY_SCENARIOS: readonly ScenarioId[] = ['me-opaque'];

export interface RunRecord {
  round: number;
  server: ServerId;
  scenario: ScenarioId;
  rps: number;
  /** Milliseconds, from every response of the run. */
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  non401: number;
  /** Connection errors and timeouts. */
  errors: number;
  statuses: Record<string, number>;
  /** Microseconds of CPU the server's event-loop thread spent per request (absent in records from before it was kept). */
  cpuUsPerRequest?: number;
}

export interface Soak {
  seconds: number;
  /** Load before sampling starts, while the heap grows to its working size. */
  warmupSeconds: number;
  rps: number;
  p99: number;
  non2xx: number;
  /** RSS of our API, sampled every second of the run. */
  samplesBytes: number[];
  startBytes: number;
  endBytes: number;
  minBytes: number;
  maxBytes: number;
  /** The largest |sample − start| / start. */
  maxDeviationPct: number;
  /** Half the spread of the samples around its middle, (max − min) / (max + min): every sample is within ±this of one level. */
  bandPct: number;
  /** Verified tokens cached at the end (the cache's bound is TOKEN_CACHE_SIZE); null when the metrics could not be read. */
  tokenCacheEntries: number | null;
  /** Median of the last sixth of the samples vs the first sixth: growth, with the GC's sawtooth smoothed out. */
  trendPct: number;
}

export interface BenchData {
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; os: string; loadAverageAtStart: number[]; date: string };
  settings: {
    seconds: number;
    rounds: number;
    warmupSeconds: number;
    soakSeconds: number;
    soakWarmupSeconds: number;
    connections: number;
    audience: string;
  };
  /** Seconds per phase, and in all. */
  timings: Record<string, number>;
  /** Cores' worth of CPU used by other processes on the machine during each phase. */
  otherCpuCores: Record<string, number>;
  loadAverageAtEnd: number[];
  runs: RunRecord[];
  servers: { id: ServerId; peakRssBytes: number; jwksFetches: number; discoveryFetches: number }[];
  soak: Soak | null;
  apiEnvironment: Record<string, string>;
  /** The scaled-out API's settings beyond apiEnvironment (absent in runs from before it was benched). */
  scaledEnvironment?: Record<string, string>;
  /** Issue 22: the settings beyond apiEnvironment of the scaled-out API behind PgBouncer (absent before it was benched). */
  pooledEnvironment?: Record<string, string>;
  /** Issue 22: the PgBouncer it ran behind, and how that API found its statements bounded (from its start-up log). */
  pgbouncer?: PgBouncerInfo;
  /**
   * Issue 23: median milliseconds of GET /v1/me, one request at a time, with an opaque token whose introspection is
   * cached (`hitMs`) and with a new one each time (`missMs`: one introspection at the local bench issuer).
   */
  introspection?: { hitMs: number; missMs: number; samples: number };
  /** Issue 24: the commit built as "before tracing", or why it could not be built (then it did not run). */
  beforeTracing?: { commit: string; skipped?: string };
  /** Issue 24: bytes the local OTLP sink received from the two traced servers (what their exporters sent). */
  otlpBytes?: number;
  /** Issue 24: the tracing servers and our API loaded side by side (absent in runs made before that phase existed). */
  tracingSideBySide?: TracingSideBySide;
}

/**
 * Issue 24's servers loaded at the same time on `GET /v1/me` (bench/side-by-side.ts): each one's event-loop CPU per
 * request (µs) in each round, by server id.
 */
export interface TracingSideBySide {
  rounds: number;
  seconds: number;
  connections: number;
  cpuUsPerRequest: Partial<Record<ServerId, number[]>>;
}

export interface PgBouncerInfo {
  /** `pgbouncer --version`'s first line. */
  version: string;
  /** deploy/pgbouncer.ini's settings that shape the figures (pool_mode, default_pool_size …), as the file has them. */
  settings: Record<string, string>;
  /** The role's `ALTER ROLE … SET statement_timeout`, in milliseconds. */
  roleStatementTimeoutMs: number;
  /** The API's start-up log line saying how its statements are bounded. */
  statementBound: string;
}

interface Summary {
  server: ServerId;
  scenario: ScenarioId;
  rps: number;
  p50: number;
  p99: number;
  /** Median over rounds of rps ÷ bare Express's rps in the ceiling scenario of the same round. */
  ratio: number;
  perRound: number[];
  /** Median over rounds of the event-loop thread's CPU µs per request. */
  cpuUs: number;
  /** Median over rounds of bare Express's CPU per request (ceiling scenario, same round) ÷ this server's. */
  cpuRatio: number;
  non2xx: number;
  non401: number;
  errors: number;
}

interface TargetResult {
  target: string;
  required: string;
  measured: string;
  pass: boolean;
  library: string;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * `other`'s rate against `base`'s by CPU, measured side by side: the median over rounds of base's CPU per request over
 * other's in the same round (1.00: the same cost; 0.80: a request of `other` costs a quarter more).
 */
export function cpuRatio(other: readonly number[], base: readonly number[]): number {
  return median(other.map((value, round) => base[round]! / value));
}

export function summarise(runs: RunRecord[]): Summary[] {
  const summaries: Summary[] = [];
  for (const scenario of SCENARIOS) {
    for (const { id: server } of SERVERS) {
      const mine = runs.filter((run) => run.server === server && run.scenario === scenario.id);
      if (mine.length === 0) continue;
      const ceilingOf = (run: RunRecord) => runs.find((r) => r.round === run.round && r.server === 'bare' && r.scenario === scenario.ceiling);
      const ratios = mine.map((run) => {
        const ceiling = ceilingOf(run);
        return ceiling ? run.rps / ceiling.rps : NaN;
      });
      const cpuOf = (run: RunRecord | undefined) => run?.cpuUsPerRequest ?? NaN;
      const sum = (pick: (run: RunRecord) => number) => mine.reduce((total, run) => total + pick(run), 0);
      summaries.push({
        server,
        scenario: scenario.id,
        rps: median(mine.map((run) => run.rps)),
        p50: median(mine.map((run) => run.p50)),
        p99: median(mine.map((run) => run.p99)),
        ratio: median(ratios),
        perRound: mine.map((run) => run.rps),
        cpuUs: median(mine.map(cpuOf)),
        cpuRatio: median(mine.map((run) => cpuOf(ceilingOf(run)) / cpuOf(run))),
        non2xx: sum((run) => run.non2xx),
        non401: scenario.id === 'invalid' ? sum((run) => run.non401) : 0,
        errors: sum((run) => run.errors),
      });
    }
  }
  return summaries;
}

/** Per round, `server`'s req/s ÷ `base`'s in the same scenario (`by: 'cpu'`: `base`'s CPU per request ÷ `server`'s); the median over rounds. */
function sameRoundRatio(runs: RunRecord[], server: ServerId, base: ServerId, scenario: ScenarioId, by: 'rps' | 'cpu' = 'rps'): number {
  return median(
    runs
      .filter((run) => run.server === server && run.scenario === scenario)
      .map((run) => {
        const other = runs.find((r) => r.round === run.round && r.server === base && r.scenario === scenario);
        // CPU per request is a cost: the server's ratio is the base's cost ÷ its own, as "× bare by CPU" is.
        return by === 'rps' ? run.rps / (other?.rps ?? NaN) : (other?.cpuUsPerRequest ?? NaN) / (run.cpuUsPerRequest ?? NaN);
      }),
  );
}

/** Each target of issue 6, judged from this run for our API (and shown for the library alone, for reference). */
export function judge(data: BenchData, summaries: Summary[]): TargetResult[] {
  const get = (server: ServerId, scenario: ScenarioId) => summaries.find((s) => s.server === server && s.scenario === scenario);
  const clean = (s: Summary | undefined) => s !== undefined && s.errors === 0 && (s.scenario === 'invalid' ? s.non401 === 0 : s.non2xx === 0);
  const times = (value: number) => `${value.toFixed(2)}×`;
  const ratioOf = (server: ServerId, scenario: ScenarioId) => get(server, scenario)?.ratio ?? NaN;
  const p99Ratio = (server: ServerId) => (get(server, 'me')?.p99 ?? NaN) / (get('bare', 'me')?.p99 ?? NaN);
  /** Per round, `measure` of the server's rejections against its valid requests (GET /v1/me, one token) of that round; the median. */
  const againstValid = (server: ServerId, measure: (rejected: RunRecord, valid: RunRecord | undefined) => number) =>
    median(
      data.runs
        .filter((run) => run.server === server && run.scenario === 'invalid')
        .map((run) => measure(run, data.runs.find((r) => r.round === run.round && r.server === server && r.scenario === 'me'))),
    );
  /** Rejections per second ÷ valid requests per second of the same server, per round. */
  const rejectionRatio = (server: ServerId) => againstValid(server, (rejected, valid) => rejected.rps / (valid?.rps ?? NaN));
  /** The same ratio by the event loop's CPU per request (valid ÷ rejected), for reading the req/s one. */
  const rejectionCpuRatio = (server: ServerId) =>
    againstValid(server, (rejected, valid) => (valid?.cpuUsPerRequest ?? NaN) / (rejected.cpuUsPerRequest ?? NaN));
  const jwks = (server: ServerId) => data.servers.find((s) => s.id === server)?.jwksFetches ?? NaN;
  const sameRound = (server: ServerId, base: ServerId, scenario: ScenarioId) => sameRoundRatio(data.runs, server, base, scenario);
  /** Per round, the scaled-out API's req/s ÷ our API's (SQLite, no Redis) in the same scenario; the median. */
  const scaledAgainstApi = (scenario: ScenarioId) => sameRound('scaled', 'api', scenario);
  const ran = (server: ServerId) => data.runs.some((run) => run.server === server);
  // The CPU ratio beside a req/s ratio, when the run kept CPU figures.
  const byCpu = (ratio: number) => (Number.isNaN(ratio) ? '' : ` (by CPU ${times(ratio)})`);
  const cpuRatioOf = (server: ServerId, scenario: ScenarioId) => get(server, scenario)?.cpuRatio ?? NaN;

  const results: TargetResult[] = [
    {
      target: 'GET /v1/me, one token, vs bare Express',
      required: '≥ 0.80×',
      measured: times(ratioOf('api', 'me')) + byCpu(cpuRatioOf('api', 'me')),
      pass: ratioOf('api', 'me') >= 0.8 && clean(get('api', 'me')),
      library: times(ratioOf('library', 'me')),
    },
    {
      target: 'GET /v1/me p99 latency vs bare Express p99',
      required: '≤ 2.00×',
      measured: `${times(p99Ratio('api'))} (${fmtMs(get('api', 'me')?.p99)} vs ${fmtMs(get('bare', 'me')?.p99)} ms)`,
      pass: p99Ratio('api') <= 2,
      library: `${times(p99Ratio('library'))} (${fmtMs(get('library', 'me')?.p99)} ms)`,
    },
    {
      target: 'GET /v1/me, 1,000 distinct tokens, vs bare Express',
      required: '≥ 0.70×',
      measured: times(ratioOf('api', 'me-1000')) + byCpu(cpuRatioOf('api', 'me-1000')),
      pass: ratioOf('api', 'me-1000') >= 0.7 && clean(get('api', 'me-1000')),
      library: times(ratioOf('library', 'me-1000')),
    },
    {
      target: 'Invalid-token rejections vs valid requests (GET /v1/me) of the same server',
      required: '≥ 1.00×',
      measured: times(rejectionRatio('api')) + byCpu(rejectionCpuRatio('api')),
      pass: rejectionRatio('api') >= 1 && clean(get('api', 'invalid')),
      library: times(rejectionRatio('library')),
    },
    {
      target: 'GET /v1/notes (20 notes from SQLite) vs bare Express',
      required: '≥ 0.60×',
      measured: times(ratioOf('api', 'notes-get')) + byCpu(cpuRatioOf('api', 'notes-get')),
      pass: ratioOf('api', 'notes-get') >= 0.6 && clean(get('api', 'notes-get')),
      library: `${times(ratioOf('library', 'notes-get'))} (stored page, no SQLite)`,
    },
  ];
  // Issue 16: PostgreSQL and Redis, judged in the same run (absent from runs made before they were benched).
  if (ran('scaled')) {
    results.push(
      {
        target: 'GET /v1/notes (20 notes from PostgreSQL) vs bare Express',
        required: '≥ 0.50×',
        measured: times(ratioOf('scaled', 'notes-get')) + byCpu(cpuRatioOf('scaled', 'notes-get')),
        pass: ratioOf('scaled', 'notes-get') >= 0.5 && clean(get('scaled', 'notes-get')),
        library: '—',
      },
      {
        target: 'POST /v1/notes on PostgreSQL vs on SQLite (our API, same round)',
        required: '≥ 1.00×',
        measured: `${times(scaledAgainstApi('notes-post'))} (${fmt(get('scaled', 'notes-post')?.rps ?? NaN)} vs ${fmt(get('api', 'notes-post')?.rps ?? NaN)} req/s)`,
        pass: scaledAgainstApi('notes-post') >= 1 && clean(get('scaled', 'notes-post')) && clean(get('api', 'notes-post')),
        library: '—',
      },
      {
        target: 'GET /v1/me with REDIS_URL vs without (our API, same round)',
        required: '≥ 0.90×',
        measured: `${times(scaledAgainstApi('me'))} (${fmt(get('scaled', 'me')?.rps ?? NaN)} vs ${fmt(get('api', 'me')?.rps ?? NaN)} req/s)`,
        pass: scaledAgainstApi('me') >= 0.9 && clean(get('scaled', 'me')),
        library: '—',
      },
    );
  }
  // Issue 22: the scaled-out API behind PgBouncer in transaction mode, judged in the same run (absent before it was benched).
  if (ran('pooled')) {
    const pooled = SCALED_SCENARIOS.map((scenario) => get('pooled', scenario));
    const unexpected = pooled.reduce((sum, s) => sum + (s ? s.non2xx + s.errors : 0), 0);
    const requests = data.runs.filter((run) => run.server === 'pooled').reduce((sum, run) => sum + run.requests, 0);
    results.push(
      {
        target: 'GET /v1/notes (20 notes from PostgreSQL via PgBouncer) vs bare Express',
        required: '≥ 0.50×',
        measured: `${times(ratioOf('pooled', 'notes-get'))}${byCpu(cpuRatioOf('pooled', 'notes-get'))}; directly ${times(ratioOf('scaled', 'notes-get'))}`,
        pass: ratioOf('pooled', 'notes-get') >= 0.5 && clean(get('pooled', 'notes-get')),
        library: '—',
      },
      {
        target: 'POST /v1/notes on PostgreSQL via PgBouncer vs on SQLite (our API, same round)',
        required: '≥ 1.00×',
        measured: `${times(sameRound('pooled', 'api', 'notes-post'))} (${fmt(get('pooled', 'notes-post')?.rps ?? NaN)} vs ${fmt(get('api', 'notes-post')?.rps ?? NaN)} req/s)`,
        pass: sameRound('pooled', 'api', 'notes-post') >= 1 && clean(get('pooled', 'notes-post')) && clean(get('api', 'notes-post')),
        library: '—',
      },
      {
        target: 'Responses of the API behind PgBouncer that are not 2xx (GET /v1/me, GET and POST /v1/notes, every round)',
        required: '0',
        measured: `${unexpected} of ${fmt(requests)}`,
        pass: pooled.every(clean),
        library: '—',
      },
    );
  }
  // Issue 23: opaque tokens (absent from runs made before they were benched).
  if (ran('api') && get('api', 'me-opaque')) {
    const againstJwt = median(
      data.runs
        .filter((run) => run.server === 'api' && run.scenario === 'me-opaque')
        .map((run) => run.rps / (data.runs.find((r) => r.round === run.round && r.server === 'api' && r.scenario === 'me')?.rps ?? NaN)),
    );
    const miss = data.introspection;
    results.push({
      target: 'GET /v1/me with an opaque token (cache hit) vs a JWT (our API, same round)',
      required: '≥ 0.90×',
      measured:
        `${times(againstJwt)} (${fmt(get('api', 'me-opaque')?.rps ?? NaN)} vs ${fmt(get('api', 'me')?.rps ?? NaN)} req/s)` +
        (miss ? `; a cache miss: ${fmtMs(miss.missMs)} ms vs ${fmtMs(miss.hitMs)} ms a hit (one introspection at the local issuer, median of ${miss.samples})` : ''),
      pass: againstJwt >= 0.9 && clean(get('api', 'me-opaque')),
      library: '—',
    });
  }
  // Issue 24: what tracing costs, each judged against our API with tracing off. Side by side when that phase ran (the
  // one-at-a-time rounds swing by more than the 2 % judged: docs/performance.md), else in the same round.
  if (ran('traced') || data.beforeTracing) {
    const oneAtATime = (server: ServerId, base: ServerId) =>
      `${times(sameRound(server, base, 'me'))} (${fmt(get(server, 'me')?.rps ?? NaN)} vs ${fmt(get(base, 'me')?.rps ?? NaN)} req/s)` +
      byCpu(sameRoundRatio(data.runs, server, base, 'me', 'cpu'));
    const side = data.tracingSideBySide;
    const sideBySide = (server: ServerId, base: ServerId): number => {
      const [mine, theirs] = [side?.cpuUsPerRequest[server], side?.cpuUsPerRequest[base]];
      return mine && theirs ? cpuRatio(mine, theirs) : NaN;
    };
    const judged = (server: ServerId, base: ServerId) => (side ? sideBySide(server, base) : sameRound(server, base, 'me'));
    const against = (server: ServerId, base: ServerId) => {
      if (!side) return oneAtATime(server, base);
      const cpuOf = (id: ServerId) => median(side.cpuUsPerRequest[id] ?? []).toFixed(1);
      return `side by side ${times(sideBySide(server, base))} by CPU (${cpuOf(server)} vs ${cpuOf(base)} µs a request); one at a time ${oneAtATime(server, base)}`;
    };
    const before = data.beforeTracing;
    const how = side ? 'side by side' : 'same round';
    // This build with tracing off as the tracing servers run it; our API itself in runs from before that twin existed.
    const off: ServerId = ran('tracing-off') ? 'tracing-off' : 'api';
    results.push(
      {
        target: `GET /v1/me with tracing off vs the build before tracing (${before?.commit ?? 'BENCH_BEFORE_TRACING'}), ${how}`,
        required: '≥ 0.98×',
        measured: ran('untraced') ? against(off, 'untraced') : `not run: ${before?.skipped ?? 'no build'}`,
        pass: judged(off, 'untraced') >= 0.98 && clean(get(off, 'me')) && clean(get('untraced', 'me')),
        library: '—',
      },
      {
        target: `GET /v1/me with tracing on, parentbased_traceidratio 0.1, vs tracing off (${how})`,
        required: '≥ 0.80×',
        measured: against('traced', off),
        pass: judged('traced', off) >= 0.8 && clean(get('traced', 'me')),
        library: '—',
      },
      {
        target: `GET /v1/me with every request traced vs tracing off (${how})`,
        required: 'stated (no target); 0 non-2xx',
        measured: against('traced-all', off) + (data.otlpBytes !== undefined ? `; ${mib(data.otlpBytes)} MiB of OTLP exported by the two` : ''),
        pass: clean(get('traced-all', 'me')),
        library: '—',
      },
    );
  }
  const soak = data.soak;
  results.push({
    target: soak ? `RSS flat across a ${soak.seconds} s run of GET /v1/me with 1,000 tokens, after warm-up` : 'RSS flat (soak skipped)',
    required: 'every sample within ±10% of one level (max ≤ 1.22 × min)',
    measured: soak
      ? `±${soak.bandPct.toFixed(1)}% (${mib(soak.minBytes)}–${mib(soak.maxBytes)} MiB); trend ${signed(soak.trendPct)}%, ` +
        `largest step from the first sample ${soak.maxDeviationPct.toFixed(1)}%`
      : 'not run (BENCH_SOAK_SECONDS=0)',
    pass: soak !== null && soak.bandPct <= 10 && soak.non2xx === 0,
    library: '—',
  });
  // The token library keeps the key set (and the discovery document) for 10 minutes, then fetches it again on the next
  // verification that needs a key: a run longer than that sees one more fetch per 10 minutes, and no other.
  const apiSeconds = apiLifetimeSeconds(data.timings);
  const allowedJwks = 1 + Math.floor(apiSeconds / KEY_SET_CACHE_SECONDS);
  results.push({
    target: 'JWKS fetches for the whole run (one key set, kept 10 minutes by the token library)',
    required: `1 per 10 min: ≤ ${allowedJwks} in the API's ${fmt(apiSeconds)} s`,
    measured: String(jwks('api')),
    pass: jwks('api') >= 1 && jwks('api') <= allowedJwks,
    library: String(jwks('library')),
  });
  return results;
}

/** express-oauth2-jwt-bearer's `cacheMaxAge` (its default; token-verifier.ts does not change it), in seconds. */
const KEY_SET_CACHE_SECONDS = 600;

/** Seconds from our API's start to the end of the run: the whole run but the builds before it. */
function apiLifetimeSeconds(timings: Record<string, number>): number {
  const builds = ['build', 'compile comparison servers', 'build before tracing'].reduce((sum, phase) => sum + (timings[phase] ?? 0), 0);
  return (timings.total ?? 0) - builds;
}

/** The phases under load, where other processes' CPU use disturbs the figures. */
const LOAD_PHASES = ['warm-up', 'rounds', 'soak'];

const fmt = (value: number) => Math.round(value).toLocaleString('en-US');
const fmtOrDash = (value: number) => (Number.isNaN(value) ? '—' : fmt(value));
const fmtMs = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '—' : value.toFixed(2));
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;

/**
 * Issue 22: the scaled-out API's figures behind PgBouncer beside the same API's on PostgreSQL directly, by scenario;
 * nothing when the run had no API behind PgBouncer.
 */
function throughPgBouncer(summaries: Summary[], data: BenchData): string[] {
  const get = (server: ServerId, scenario: ScenarioId) => summaries.find((s) => s.server === server && s.scenario === scenario);
  const rows = SCALED_SCENARIOS.filter((scenario) => get('pooled', scenario) && get('scaled', scenario));
  if (rows.length === 0) return [];
  const title = (id: ScenarioId) => SCENARIOS.find((s) => s.id === id)!.title;
  return [
    '## PostgreSQL directly and through PgBouncer (issue 22)',
    '',
    'The scaled-out API on PostgreSQL directly and the same build behind PgBouncer in transaction mode, each with Redis,',
    'medians over the rounds (from the Results table).',
    '',
    '| scenario | req/s directly | req/s via PgBouncer | via ÷ directly (same round) | CPU µs/req directly | CPU µs/req via PgBouncer | p99 ms directly | p99 ms via PgBouncer |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((scenario) => {
      const [direct, pooled] = [get('scaled', scenario)!, get('pooled', scenario)!];
      return (
        `| ${title(scenario)} | ${fmt(direct.rps)} | ${fmt(pooled.rps)} | ${sameRoundRatio(data.runs, 'pooled', 'scaled', scenario).toFixed(2)}× | ${fmtOrDash(direct.cpuUs)} | ` +
        `${fmtOrDash(pooled.cpuUs)} | ${fmtMs(direct.p99)} | ${fmtMs(pooled.p99)} |`
      );
    }),
    '',
    "CPU µs/req is the API's event-loop thread only: PgBouncer's and PostgreSQL's own CPU is not in it (it is in the",
    '"other processes" figure under Machine).',
    '',
  ];
}

/** Issue 22: how PgBouncer was set up, and how the API behind it bounded its statements. */
function pgbouncerSetUp(pgbouncer: PgBouncerInfo): string[] {
  const { settings } = pgbouncer;
  const setting = (key: string) => `\`${key} = ${settings[key] ?? '(unset)'}\``;
  return [
    `The API behind PgBouncer (issue 22) is the scaled-out API again, PostgreSQL reached through ${pgbouncer.version}, started`,
    'privately with deploy/pgbouncer.ini itself, only its addresses and user list changed:',
    '',
    `- ${setting('pool_mode')}: each statement (each transaction) gets whichever server connection is free;`,
    `- ${setting('default_pool_size')}: the server connections PostgreSQL sees, for the API's DATABASE_POOL_SIZE client connections (default 10);`,
    `- ${setting('max_client_conn')}, ${setting('ignore_startup_parameters')} (stock);`,
    `- statements bounded by the role's \`statement_timeout\` (${pgbouncer.roleStatementTimeoutMs} ms, \`ALTER ROLE … SET\`, as deploy/compose.yaml`,
    '  sets it; a transaction pooler passes on neither a session `SET` nor the startup parameter). The API found it at',
    `  start-up ("${pgbouncer.statementBound}"), so each statement is one round trip, not`,
    '  `BEGIN; SET LOCAL …` / the statement / `COMMIT`.',
    '',
    "Its notes are in a role and schema of their own (the role's `search_path`; both dropped at the end), its Redis keys",
    'under a prefix of their own. It runs `GET /v1/me`, `GET /v1/notes` and `POST /v1/notes`, always right before or right',
    'after the scaled-out API on PostgreSQL directly, on the side away from our API: its `GET /v1/notes` is judged against',
    "bare Express's in the same round, its POST rate against our API's (SQLite) in the same round, the direct run between them.",
  ];
}

/** Issue 24: the servers that measure what tracing costs. */
function tracingSetUp(before: { commit: string; skipped?: string }, side: TracingSideBySide | undefined): string[] {
  return [
    'What tracing costs (issue 24) is measured on `GET /v1/me` only, by four servers with the same settings that serve',
    'nothing else:',
    '',
    '- this build with tracing off (no OTLP endpoint: the SDK never loaded). Our API itself is not the reference: it also',
    '  serves every other scenario, and side by side that made its `/v1/me` about a tenth dearer than a server that serves',
    '  only `/v1/me` (docs/performance.md);',
    `- the API as built before tracing, commit ${before.commit} (BENCH_BEFORE_TRACING; \`git archive\` of it into a temporary`,
    `  folder, compiled with this checkout's node_modules)${before.skipped ? `: not run, ${before.skipped}` : ''};`,
    '- this build with `OTEL_EXPORTER_OTLP_ENDPOINT` set to a local OTLP/HTTP sink of its own (bench/servers/otlp-sink.ts: reads each',
    '  export, counts its bytes, answers 200 as a collector does) and `OTEL_TRACES_SAMPLER=parentbased_traceidratio`,',
    '  `OTEL_TRACES_SAMPLER_ARG=0.1`; the requests bring no `traceparent`, so one in ten is sampled;',
    '- the same with `OTEL_TRACES_SAMPLER=parentbased_always_on`: every request sampled and exported.',
    '',
    "In the rounds they run right before our API's `GET /v1/me` block or right after it, in alternating order.",
    ...(side
      ? [
          `After the rounds they run once more, side by side: each with an autocannon of its own (${side.connections} connections) at`,
          `the same time, for ${side.rounds} rounds of ${side.seconds} s (BENCH_TRACING_ROUNDS, BENCH_TRACING_SECONDS), each server's`,
          "event-loop CPU per request read in each round (bench/side-by-side.ts). The targets are judged on that: the median over",
          "rounds of one server's CPU per request against the other's in the same round. One server at a time, the same code has",
          'measured between 0.81× and 1.03× of itself, too coarse for the 2 % that tracing off is allowed; side by side, within',
          '2–3 % (docs/performance.md). The one-at-a-time figures are kept beside them.',
        ]
      : []),
  ];
}

export function renderReport(data: BenchData): string {
  const summaries = summarise(data.runs);
  const targets = judge(data, summaries);
  const { machine, settings, soak } = data;
  const title = (id: ServerId) => SERVERS.find((s) => s.id === id)!.title;
  const scenarioTitle = (id: ScenarioId) => SCENARIOS.find((s) => s.id === id)!.title;
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);

  push(
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` (bench/run.ts) on ${machine.date}. Do not edit by hand: run the bench again.`,
    'Every figure below comes from this one run. Absolute numbers drift on shared machines; the ratios against',
    'bare Express measured in the same round are what the targets of issue 6 are judged on.',
    '',
    '## Machine',
    '',
    `- CPU: ${machine.cpu}, ${machine.cores} cores; memory ${machine.memoryGiB} GiB`,
    `- Node ${machine.node} on ${machine.os}`,
    `- Load average when the bench started: ${machine.loadAverageAtStart.join(', ')}; when it ended: ${data.loadAverageAtEnd.join(', ')}`,
    `- CPU taken by other processes on the machine (cores, of ${machine.cores}), per phase: ` +
      `${Object.entries(data.otherCpuCores)
        .filter(([name]) => LOAD_PHASES.includes(name))
        .map(([name, cores]) => `${name} ${cores.toFixed(2)}`)
        .join(', ')}. Anything well above 0 means the figures are noisier than usual.`,
    '',
    '## Targets (issues 6, 16, 22, 23 and 24)',
    '',
    '| target | required | our API | result | library alone (reference) |',
    '| --- | --- | --- | --- | --- |',
    ...targets.map((t) => `| ${t.target} | ${t.required} | ${t.measured} | **${t.pass ? 'PASS' : 'FAIL'}** | ${t.library} |`),
    '',
    'A ratio target also fails if any response of that scenario had an unexpected status or a socket error. "By CPU" is',
    "the same ratio from the CPU time the servers' event-loop threads spent per request (see Results); it is shown for",
    'reading the req/s ratio, which is what the target is judged on. The tracing targets (issue 24) are judged side by',
    'side instead, by CPU per request (see How it was run).',
    '',
    `## Results (medians over ${settings.rounds} rounds of ${settings.seconds} s, ${settings.connections} connections)`,
    '',
    '| scenario | server | req/s | × bare | p50 ms | p99 ms | CPU µs/req | × bare by CPU | req/s per round | non-2xx | non-401 | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    ...summaries.map(
      (s) =>
        `| ${scenarioTitle(s.scenario)} | ${title(s.server)} | ${fmt(s.rps)} | ${s.ratio.toFixed(2)}× | ${fmtMs(s.p50)} | ${fmtMs(s.p99)} | ` +
        `${fmtOrDash(s.cpuUs)} | ${Number.isNaN(s.cpuRatio) ? '—' : `${s.cpuRatio.toFixed(2)}×`} | ` +
        `${s.perRound.map(fmt).join(' / ')} | ${s.non2xx} | ${s.scenario === 'invalid' ? s.non401 : '—'} | ${s.errors} |`,
    ),
    '',
    '- × bare: per round, this server\'s req/s ÷ bare Express\'s req/s in the same scenario and round (for the invalid',
    '  token, bare Express\'s `GET /v1/me`: it has no invalid-token case); the median of those ratios.',
    '- Latencies are measured per response (sub-millisecond), from every response of the run.',
    "- CPU µs/req: CPU time of the server's event-loop thread (from `/proc/<pid>/task/<pid>/stat`) per request, the",
    '  median over rounds. A Node server saturates that thread first, so this is what a request costs the server, less',
    '  disturbed than req/s by the load generator sharing the two cores; × bare by CPU is bare Express\'s CPU per request',
    '  ÷ this server\'s, per round, the median. The targets are judged on req/s, as issue 6 states them; this column',
    '  is for reading them.',
    '- non-2xx: responses that were not 2xx (for the invalid-token scenario all of them, by design); non-401: responses',
    '  of the invalid-token scenario that were not 401; errors: socket errors and timeouts. Sums over all rounds.',
    '',
    ...throughPgBouncer(summaries, data),
    '## Servers',
    '',
    '| server | peak RSS (VmHWM) | JWKS fetches | discovery fetches |',
    '| --- | ---: | ---: | ---: |',
    ...data.servers.map((s) => `| ${title(s.id)} | ${mib(s.peakRssBytes)} MiB | ${s.jwksFetches} | ${s.discoveryFetches} |`),
    '',
    'Peak RSS is read from `/proc/<pid>/status` after the rounds (before the soak). Fetches are counted by the bench',
    'issuer over the whole run (seeding, checks, warm-up, rounds and soak); servers are driven one at a time, so each',
    "fetch is attributed to the server under load when it happened.",
    '',
    '## Memory soak (our API)',
    '',
  );
  if (soak) {
    push(
      `GET /v1/me with 1,000 tokens for ${soak.seconds} s after a ${soak.warmupSeconds} s warm-up: ${fmt(soak.rps)} req/s, ` +
        `p99 ${fmtMs(soak.p99)} ms, ${soak.non2xx} non-2xx. Verified tokens cached at the end: ` +
        `${soak.tokenCacheEntries ?? 'unknown'} (bound: TOKEN_CACHE_SIZE, default 10,000).`,
      '',
      '| start | end | min | max | band (±) | trend (last vs first sixth, medians) | largest step from the first sample | samples |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| ${mib(soak.startBytes)} MiB | ${mib(soak.endBytes)} MiB | ${mib(soak.minBytes)} MiB | ${mib(soak.maxBytes)} MiB | ` +
        `${soak.bandPct.toFixed(1)}% | ${signed(soak.trendPct)}% | ${soak.maxDeviationPct.toFixed(1)}% | ${soak.samplesBytes.length} |`,
      '',
      '"Flat ±10%" is judged as every sample within ±10% of one level: (max − min) / (max + min) ≤ 10%. The warm-up is',
      'long enough for V8 to grow the heap to its working size first (about 10 s under this load; before that RSS',
      'climbs by design, not by leak). The trend column separates growth (a leak, an unbounded cache) from the',
      "garbage collector's sawtooth.",
      '',
      `RSS every second (MiB): ${soak.samplesBytes.map(mib).join(', ')}`,
    );
  } else {
    push('Skipped (BENCH_SOAK_SECONDS=0).');
  }
  const env = Object.entries(data.apiEnvironment)
    .map(([key, value]) => `${key}=${value}`)
    .join(' \\\n  ');
  push(
    '',
    '## How it was run',
    '',
    '```sh',
    `BENCH_SECONDS=${settings.seconds} BENCH_ROUNDS=${settings.rounds} BENCH_WARMUP_SECONDS=${settings.warmupSeconds} ` +
      `BENCH_SOAK_SECONDS=${settings.soakSeconds} BENCH_SOAK_WARMUP_SECONDS=${settings.soakWarmupSeconds} npm run bench` +
      `   # defaults: 3, 7, 2, 60, 15`,
    '```',
    '',
    'What the bench starts, each its own process on 127.0.0.1 with port 0:',
    '',
    '```sh',
    'npm run build                                    # once, first',
    'node --import tsx bench/issuer.ts                # discovery + JWKS (one RS256 key, jose), mints the tokens, counts fetches',
    '# bench/servers/*.ts, types stripped to JavaScript in a temporary folder, run by plain node like our API\'s build:',
    'NODE_ENV=production node servers/bare.js',
    `NODE_ENV=production ISSUER_BASE_URL=<bench issuer> AUDIENCE=${settings.audience} node servers/library.js`,
    `${env} \\\n  node dist/src/main.js > api.log   # working directory: a temporary folder (no .env)`,
    ...(data.scaledEnvironment
      ? [
          '# the same API scaled out: notes in PostgreSQL (a schema of its own), rate limits and DPoP proof ids in Redis',
          `${Object.entries(data.scaledEnvironment)
            .map(([key, value]) => `${key}=${value}`)
            .join(' ')} <the settings above> node dist/src/main.js > scaled.log`,
        ]
      : []),
    ...(data.pooledEnvironment && data.pgbouncer
      ? [
          `# the same again behind PgBouncer: deploy/pgbouncer.ini itself, only its addresses and user list changed (as postgres, by runuser, when root)`,
          `/usr/sbin/pgbouncer <deploy/pgbouncer.ini, listen_port = <a free port>, notes = <BENCH_DATABASE_URL's database>>`,
          `${Object.entries(data.pooledEnvironment)
            .map(([key, value]) => `${key}=${value}`)
            .join(' ')} <the settings above> node dist/src/main.js > pooled.log`,
        ]
      : []),
    '```',
    '',
    `The load generator is autocannon's programmatic API inside the bench process: ${settings.connections} connections, no pipelining,`,
    `a ${settings.warmupSeconds} s warm-up per server and scenario (discarded), then ${settings.rounds} rounds; in each round every`,
    `scenario runs on every server for ${settings.seconds} s, servers alternating, our API's runs always right before or right after bare Express's,`,
    'and each server\'s invalid-token run right before or right after its `GET /v1/me` run, the rate it is judged against. Tokens: RS256,',
    '`scope: "read:notes write:notes delete:notes"`, expiring hours after the run; the 1,000-token scenario gives each',
    'connection its own starting place in the rotation; the invalid token has a bad signature under the published `kid`.',
    '`POST /v1/notes` writes as another user, so the 20 notes read by `GET /v1/notes` stay 20. Our API logs every',
    'request at `info` to a file.',
    ...(data.scaledEnvironment
      ? [
          '',
          'The scaled-out API (issue 16) is the same build with the same settings, its notes in PostgreSQL (a schema of its',
          "own in BENCH_DATABASE_URL, default the local server's database `test`; dropped at the end) and its rate limits and",
          'DPoP proof ids in Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379). It runs `GET /v1/me`, `GET /v1/notes`',
          "and `POST /v1/notes`, always right before or right after our API (SQLite, no Redis): its POST rate and its",
          "`GET /v1/me` rate are judged against our API's in the same round, its `GET /v1/notes` against bare Express's.",
        ]
      : []),
    ...(data.pgbouncer ? ['', ...pgbouncerSetUp(data.pgbouncer)] : []),
    ...(data.beforeTracing ? ['', ...tracingSetUp(data.beforeTracing, data.tracingSideBySide)] : []),
    '',
    `Time taken: ${Object.entries(data.timings)
      .map(([name, seconds]) => `${name} ${seconds} s`)
      .join(', ')}.`,
    '',
    '## Raw data',
    '',
    '<details><summary>JSON</summary>',
    '',
    '```json',
    JSON.stringify({ ...data, summaries, targets }, null, 2),
    '```',
    '',
    '</details>',
    '',
  );
  return lines.join('\n');
}
