import { createApp } from './app.js';
import { createKeysProbe } from './auth/issuer-probe.js';
import { ConfigError, loadConfig, loadDotEnv, type Config } from './config.js';
import { openDatabase } from './db/open.js';
import { startServer } from './http/server.js';
import { createLogger } from './observability/logger.js';

function configOrExit(): Config & { ISSUER_BASE_URL: string } {
  try {
    loadDotEnv();
    const config = loadConfig();
    if (!config.ISSUER_BASE_URL) {
      throw new ConfigError(
        'Invalid configuration: ISSUER_BASE_URL is not set. Point it at your authorization server, e.g. ' +
          'ISSUER_BASE_URL=https://YOUR_TENANT.auth0.com/ AUDIENCE=https://api.example.com npm start (or put both in .env).',
      );
    }
    return config as Config & { ISSUER_BASE_URL: string };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

const config = configOrExit();
const logger = createLogger(config.LOG_LEVEL);
const db = openDatabase(config.DATABASE_URL);
const app = createApp({
  config,
  issuer: config.ISSUER_BASE_URL,
  db,
  logger,
  keysProbe: createKeysProbe({ issuer: config.ISSUER_BASE_URL, jwksUri: config.JWKS_URI, timeoutMs: config.ISSUER_TIMEOUT_MS }),
});
const running = await startServer(app, { host: config.HOST, port: config.PORT });
logger.info({ url: running.url, issuer: config.ISSUER_BASE_URL, audience: config.AUDIENCE }, `Notes API listening on ${running.url}`);

let stopping = false;
const stop = (signal: NodeJS.Signals): void => {
  if (stopping) process.exit(1);
  stopping = true;
  logger.info({ signal }, 'shutting down');
  running.close().finally(() => {
    db.close();
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
