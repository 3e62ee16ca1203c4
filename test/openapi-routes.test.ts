import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { sqliteCheck } from '../src/db/sqlite/open.js';
import { openDatabase, type Db } from '../src/db/sqlite/open.js';
import { sqliteNotesStorage } from '../src/db/sqlite/notes.storage.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { openShareableState } from '../src/state/shareable-state.js';
import { appRoutes } from './support/routes.js';

let db: Db;
beforeAll(() => {
  db = openDatabase(':memory:');
});
afterAll(() => {
  db.close();
});

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function specRoutes(): string[] {
  const spec = parse(fs.readFileSync('openapi.yaml', 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(spec.paths)
    .flatMap(([path, item]) => Object.keys(item).filter((key) => HTTP_METHODS.includes(key)).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

describe('openapi.yaml and the app', () => {
  it('when the app is built, then it serves exactly the operations the spec describes (besides the Swagger UI assets)', () => {
    const config = loadConfig({ ISSUER_BASE_URL: 'http://127.0.0.1:9/' });
    const logger = createLogger('silent');
    const metrics = createMetrics({ defaultMetrics: false });
    const app = createApp({
      config,
      issuers: ['http://127.0.0.1:9/'],
      storage: { notes: sqliteNotesStorage(db), readiness: [sqliteCheck(db)] },
      state: openShareableState(config, { logger, metrics }),
      logger,
      metrics,
      keysProbe: async () => true,
    });
    const served = appRoutes(app).filter((route) => route !== 'GET /docs/init.js');
    expect(served).toEqual(specRoutes());
  });

  it('when routes are read, then the reader finds the notes routes (it cannot pass on an empty list)', () => {
    expect(specRoutes()).toContain('DELETE /v1/notes/{id}');
  });
});
