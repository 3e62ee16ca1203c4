import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sqliteNotesStorage } from '../../src/db/sqlite/notes.storage.js';
import { openDatabase } from '../../src/db/sqlite/open.js';
import { NotesService } from '../../src/notes/notes.service.js';
import { startApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';
import { createTestSchema, type TestSchema } from '../support/postgres.js';

/** The command as `npm run db:copy --` runs it (from source here, rather than from a fresh build). */
const copy = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/db/copy-notes.cli.ts', ...args], {
    env: { PATH: process.env.PATH },
    encoding: 'utf8',
    timeout: 30_000,
  });

let issuer: TestIssuer;
let schema: TestSchema;
let folder: string;
let file: string;
let target: string;
/** What the SQLite API would list for Alice, and Bob. */
let expected: Record<string, unknown>;
beforeAll(async () => {
  issuer = await startTestIssuer();
  schema = await createTestSchema();
  // Trust authentication ignores the password: it is there to show it never reaches the output.
  target = schema.url.replace('postgres://postgres@', 'postgres://postgres:hunter2@');
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-copy-'));
  file = path.join(folder, 'notes.db');
  const db = openDatabase(file);
  const service = new NotesService(sqliteNotesStorage(db));
  for (let i = 1; i <= 25; i++) await service.create('auth0|alice', { title: `alice ${i}`, body: `"quoted"\n😀 ${i}` });
  const edited = await service.create('auth0|bob', { title: 'bob, edited twice', body: '' });
  await service.update('auth0|bob', edited.id, { body: 'once' }, undefined);
  await service.update('auth0|bob', edited.id, { body: 'twice' }, '"v2"');
  const gone = await service.create('auth0|bob', { title: 'deleted', body: '' });
  await service.delete('auth0|bob', gone.id, undefined);
  expected = {
    alice: JSON.parse(await service.listJson('auth0|alice', { limit: 100 })),
    bob: JSON.parse(await service.listJson('auth0|bob', { limit: 100 })),
    editedId: edited.id,
  };
  db.close();
});
afterAll(async () => {
  await schema?.drop();
  await issuer?.close();
  fs.rmSync(folder, { recursive: true, force: true });
});

describe('npm run db:copy (SQLite → PostgreSQL)', () => {
  it('when a SQLite database is copied, then the API on PostgreSQL serves the same notes, in the same order, with the same ETags', async () => {
    const result = copy('--from', file, '--to', target);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(`Copied 26 notes from ${file} to ${target.replace('hunter2', '***')} (0 already there).`);
    expect(result.stdout).not.toContain('hunter2');

    const api = await startApi(issuer, { DATABASE_URL: schema.url }, 'postgres');
    try {
      const as = async (sub: string) => `Bearer ${await issuer.mint({ sub })}`;
      const alice = await as('auth0|alice');
      const first = await api.request().get('/v1/notes?limit=20').set('Authorization', alice);
      const rest = await api.request().get(`/v1/notes?limit=20&cursor=${first.body.next_cursor}`).set('Authorization', alice);
      expect({ items: [...first.body.items, ...rest.body.items], next_cursor: rest.body.next_cursor }).toEqual(expected.alice);
      const bob = await as('auth0|bob');
      expect((await api.request().get('/v1/notes').set('Authorization', bob)).body).toEqual(expected.bob);
      const edited = await api.request().get(`/v1/notes/${expected.editedId}`).set('Authorization', bob);
      expect(edited.headers.etag).toBe('"v3"');
      // A note written after the copy is the newest.
      const added = await api.request().post('/v1/notes').set('Authorization', alice).send({ title: 'after the copy' });
      expect((await api.request().get('/v1/notes?limit=1').set('Authorization', alice)).body.items[0].id).toBe(added.body.id);
    } finally {
      await api.close();
    }
  }, 60_000);

  it('when it is run again, then nothing is copied twice', async () => {
    const result = copy('--from', file, '--to', target);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Copied 0 notes from .* \(26 already there\)\.$/m);
    expect((await schema.query('SELECT count(*)::int AS n FROM notes')).rows[0]!.n).toBe(27);
  }, 30_000);

  it.each([
    [[], 2, /^--from is missing\.\nUsage: npm run db:copy -- --from <SQLite file> --to postgres:\/\//],
    [['--from', 'x.db'], 2, /^--to is missing\./],
    [['--from', 'x.db', '--to', 'postgres://h/db', '--force'], 2, /Unknown option '--force'/],
    [['--from', '/nonexistent/notes.db', '--to', 'postgres://h/db'], 1, /^--from: no SQLite database at \/nonexistent\/notes\.db$/],
    [['--from', 'postgres://h/db', '--to', 'postgres://h/db'], 1, /^--from must name a SQLite database file/],
    [['--from', '/nonexistent/notes.db', '--to', 'mysql://u:hunter2@h/db'], 1, /^--to has the unsupported scheme "mysql:"/],
  ])('when the arguments are %j, then it exits %i with a clear message', (args, status, message) => {
    const result = copy(...(args as string[]));
    expect(result.status).toBe(status);
    expect(result.stderr.trim()).toMatch(message);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('when PostgreSQL cannot be reached, then it exits 1 naming the redacted URL, and copies nothing', () => {
    const result = copy('--from', file, '--to', 'postgres://notes:hunter2@127.0.0.1:1/notes');
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(/^--to: cannot open PostgreSQL at postgres:\/\/notes:\*\*\*@127\.0\.0\.1:1\/notes: .*ECONNREFUSED/);
  });
});
