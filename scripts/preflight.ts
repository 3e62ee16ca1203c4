/**
 * `npm test`'s first step, before the type check, the linter and jest spend minutes: probes each service the suites
 * need, at the address they use (`TEST_DATABASE_URL`, `TEST_REDIS_URL`, `CHROMIUM_PATH`, `PG_BIN`), within
 * `PROBE_MS` each and all at once; prints one block listing every one missing with the commands that get it on
 * Debian/Ubuntu, macOS (Homebrew) and with Docker, and exits 1. Says nothing and exits 0 when all are there. A
 * missing Chromium that this process may install (root with apt-get, as in CI) is installed here, as the browser
 * tests would.
 */
import { chromiumExecutable, chromiumProblem, findChromium } from '../test/support/browser.js';
import { testDatabaseProblem } from '../test/support/postgres.js';
import { postgresBinariesProblem } from '../test/support/private-postgres.js';
import { redisServerBinaryProblem, testRedisProblem } from '../test/support/redis.js';
import {
  CHROMIUM_RECIPE,
  POSTGRES_BINARIES_RECIPE,
  POSTGRES_RECIPE,
  REDIS_BINARY_RECIPE,
  REDIS_RECIPE,
  type ServiceRecipe,
} from '../test/support/service-recipes.js';

/** The bound on each probe: a service that needs longer to answer one connection is not usable by the suites. */
const PROBE_MS = 2000;

const checks: { recipe: ServiceRecipe; problem: Promise<string | undefined> | string | undefined }[] = [
  { recipe: POSTGRES_RECIPE, problem: testDatabaseProblem(undefined, PROBE_MS) },
  { recipe: POSTGRES_BINARIES_RECIPE, problem: postgresBinariesProblem() },
  { recipe: REDIS_RECIPE, problem: testRedisProblem(undefined, PROBE_MS) },
  { recipe: REDIS_BINARY_RECIPE, problem: redisServerBinaryProblem() },
  { recipe: CHROMIUM_RECIPE, problem: chromiumProblem() },
];
type Missing = { recipe: ServiceRecipe; problem: string };
const missing = (await Promise.all(checks.map(async ({ recipe, problem }) => ({ recipe, problem: await problem })))).filter(
  (check): check is Missing => check.problem !== undefined,
);

if (missing.length === 0 && !findChromium()) {
  // To be installed by this process (root with apt-get): now, once, rather than by the first browser suite.
  try {
    chromiumExecutable();
  } catch (error) {
    missing.push({ recipe: CHROMIUM_RECIPE, problem: `Chromium or Chrome: installing it failed (${(error as Error).message})` });
  }
}

if (missing.length > 0) {
  const lines = [`npm test stopped before any suite: the tests need ${missing.length === 1 ? 'a service' : 'services'} this machine does not offer.`, ''];
  for (const { recipe, problem } of missing) {
    lines.push(problem, `  Debian/Ubuntu:     ${recipe.debian}`, `  macOS (Homebrew):  ${recipe.macos}`, `  Docker:            ${recipe.docker}`, '');
  }
  const variables = [...new Set(missing.map(({ recipe }) => recipe.variable))];
  lines.push(`Or set ${variables.join(', ')} to what works; then npm test again. \`npx tsx scripts/preflight.ts\` checks again alone.`);
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exitCode = 1;
}
