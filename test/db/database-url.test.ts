import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config.js';
import { parseDatabaseUrl, redactDatabaseUrl } from '../../src/database-url.js';
import { runServerToExit } from '../support/server-process.js';

describe('DATABASE_URL', () => {
  it.each([
    ['postgres://notes:secret@db.internal:5432/notes', 'postgres'],
    ['postgresql://notes@db.internal/notes?sslmode=verify-full', 'postgres'],
    ['POSTGRES://db.internal/notes', 'postgres'],
    ['data/notes.db', 'sqlite'],
    ['/var/lib/notes/notes.db', 'sqlite'],
    ['file:data/notes.db', 'sqlite'],
    ['sqlite:///tmp/notes.db', 'sqlite'],
    [':memory:', 'sqlite'],
    ['C:\\notes\\notes.db', 'sqlite'],
  ])('when it is %s, then notes are kept in %s', (url, kind) => {
    expect(parseDatabaseUrl(loadConfig({ DATABASE_URL: url }).DATABASE_URL).kind).toBe(kind);
  });

  it('when it is a path or a file: or sqlite: URL, then SQLite opens the file it names', () => {
    expect(parseDatabaseUrl('sqlite:///tmp/notes.db')).toEqual({ kind: 'sqlite', path: '/tmp/notes.db' });
    expect(parseDatabaseUrl('file:data/notes.db')).toEqual({ kind: 'sqlite', path: path.resolve('data/notes.db') });
  });

  it.each([
    ['mysql://notes:hunter2@db/notes', 'mysql'],
    ['postgress://notes:hunter2@db/notes', 'postgress'],
    ['http://notes:hunter2@db/notes', 'http'],
    ['redis://:hunter2@cache:6379', 'redis'],
  ])('when it is %s, then a one-line ConfigError names the scheme and never the password', (url, scheme) => {
    expect(() => loadConfig({ DATABASE_URL: url })).toThrow(ConfigError);
    let message = '';
    try {
      loadConfig({ DATABASE_URL: url });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      `Invalid configuration: DATABASE_URL has the unsupported scheme "${scheme}:"; use postgres:// or postgresql:// for PostgreSQL, or a file path, file: or sqlite: for SQLite`,
    );
    expect(message).not.toContain('hunter2');
  });

  it('when a postgres:// URL names no host, then a ConfigError without the password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://user:hunter2@/notes' })).toThrow(/^Invalid configuration: DATABASE_URL is not a valid postgres:\/\/ URL/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://user:hunter2@/notes' })).not.toThrow(/hunter2/);
  });

  it('when a URL is written to a log line, then its password (and any password parameter) is redacted', () => {
    expect(redactDatabaseUrl('postgres://notes:s%40cret@db:5432/notes?sslmode=require')).toBe('postgres://notes:***@db:5432/notes?sslmode=require');
    expect(redactDatabaseUrl('postgresql://db/notes?password=hunter2')).toBe('postgresql://db/notes?password=***');
    expect(redactDatabaseUrl('postgres://db/notes')).toBe('postgres://db/notes');
  });

  it.each([
    ['DATABASE_POOL_SIZE', '0'],
    ['DATABASE_POOL_SIZE', 'ten'],
    ['DATABASE_CONNECT_TIMEOUT_MS', '10'],
    ['DATABASE_STATEMENT_TIMEOUT_MS', 'forever'],
  ])('when %s is %s, then a ConfigError naming it', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^Invalid configuration: ${variable} `));
  });

  it('when the PostgreSQL settings are left out, then a pool of 10 with a 3 s connect and a 5 s statement timeout', () => {
    expect(loadConfig({})).toMatchObject({ DATABASE_POOL_SIZE: 10, DATABASE_CONNECT_TIMEOUT_MS: 3000, DATABASE_STATEMENT_TIMEOUT_MS: 5000 });
  });
});

describe('starting the server with a DATABASE_URL it cannot use', () => {
  const start = (env: Record<string, string>, cwd: string) =>
    runServerToExit({ ISSUER_BASE_URL: 'https://tenant.example/', METRICS_ENABLED: 'false', LOG_LEVEL: 'silent', ...env }, { cwd });

  it('when the scheme is a typo of postgres, then it exits 1 with one line, and creates no SQLite file', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-url-'));
    try {
      const result = start({ DATABASE_URL: 'postgress://notes:hunter2@db.internal/notes' }, folder);
      expect(result.status).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^Invalid configuration: DATABASE_URL has the unsupported scheme "postgress:"/)]);
      expect(result.stderr).not.toContain('hunter2');
      expect(fs.readdirSync(folder)).toEqual([]);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('when DATABASE_CA_FILE cannot be read, then it exits 1 with one line naming it', () => {
    const result = start({ DATABASE_URL: 'postgres://notes:hunter2@127.0.0.1:1/notes', DATABASE_CA_FILE: '/nonexistent/ca.pem' }, process.cwd());
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual(['DATABASE_CA_FILE /nonexistent/ca.pem cannot be read']);
  });
});
