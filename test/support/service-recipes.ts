/**
 * How to get each service the test suites need besides Node.js, on Debian/Ubuntu, on macOS (Homebrew) and with
 * Docker, at the address the suites use by default. `scripts/preflight.ts`, the first step of `npm test`, prints the
 * recipes of those it cannot reach; a suite that still cannot reach one points there.
 */

/** One service: the variable that points the tests elsewhere, and the commands that provide it. */
export interface ServiceRecipe {
  readonly variable: string;
  readonly debian: string;
  readonly macos: string;
  readonly docker: string;
}

/** How a suite that cannot reach a service says where the recipes are (npm test prints them before any suite). */
export const SEE_PREFLIGHT = '`npx tsx scripts/preflight.ts` (the first step of npm test) says how to get it';

/**
 * A program the tests run is not a server a container can lend: the tests run in a container instead (Debian, as
 * root: they install Chromium themselves), next to the services on the host's network.
 */
const RUN_TESTS_IN_A_CONTAINER =
  'run the tests in one (Linux host; as root they install Chromium): docker run --rm --network host -v "$PWD":/src -v /src/node_modules -w /src node:20 ' +
  "sh -c 'apt-get update && apt-get install -y postgresql redis-server && npm install && npm test'";

export const POSTGRES_RECIPE: ServiceRecipe = {
  variable: 'TEST_DATABASE_URL',
  // Debian's clusters ask for a password over TCP (pg_hba.conf): one is set, and the URL names it.
  debian:
    "sudo apt-get install -y postgresql && sudo service postgresql start && sudo -u postgres createdb test && sudo -u postgres psql -c \"ALTER USER postgres PASSWORD 'postgres'\" " +
    '&& export TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/test',
  // Homebrew's cluster trusts local connections; its superuser is the login user, so the tests' `postgres` is made.
  macos: 'brew install postgresql@16 && brew services start postgresql@16 && sleep 3 && createuser -h 127.0.0.1 -s postgres && createdb -h 127.0.0.1 -U postgres test',
  docker: 'docker run -d --name notes-test-postgres -p 127.0.0.1:5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16',
};

export const REDIS_RECIPE: ServiceRecipe = {
  variable: 'TEST_REDIS_URL',
  debian: 'sudo apt-get install -y redis-server && sudo service redis-server start',
  macos: 'brew install redis && brew services start redis',
  docker: 'docker run -d --name notes-test-redis -p 127.0.0.1:6379:6379 redis:7',
};

/** The outage and restart tests start PostgreSQL servers of their own, from the installed binaries. */
export const POSTGRES_BINARIES_RECIPE: ServiceRecipe = {
  variable: 'PG_BIN',
  debian: 'sudo apt-get install -y postgresql',
  macos: 'brew install postgresql@16 && export PG_BIN="$(brew --prefix postgresql@16)/bin"',
  docker: RUN_TESTS_IN_A_CONTAINER,
};

/** The Redis outage test starts a redis-server of its own. */
export const REDIS_BINARY_RECIPE: ServiceRecipe = {
  variable: 'PATH',
  debian: 'sudo apt-get install -y redis-server',
  macos: 'brew install redis',
  docker: RUN_TESTS_IN_A_CONTAINER,
};

export const CHROMIUM_RECIPE: ServiceRecipe = {
  variable: 'CHROMIUM_PATH',
  debian: "sudo sh -c 'apt-get update && apt-get install -y chromium' (Ubuntu: sudo snap install chromium && export CHROMIUM_PATH=/snap/bin/chromium)",
  macos: 'brew install --cask google-chrome',
  docker: RUN_TESTS_IN_A_CONTAINER,
};
