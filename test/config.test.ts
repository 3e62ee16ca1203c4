import fs from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, configSchema, loadConfig } from '../src/config.js';
import { runServerToExit } from './support/server-process.js';

describe('loadConfig', () => {
  it('when PUBLIC_URL is unset, then it is the origin of an http(s) AUDIENCE that was set, else http://HOST:PORT', () => {
    expect(loadConfig({ AUDIENCE: 'https://api.example.com/notes' }).PUBLIC_URL).toBe('https://api.example.com');
    expect(loadConfig({ AUDIENCE: 'urn:notes', HOST: '0.0.0.0', PORT: '8080' }).PUBLIC_URL).toBe('http://0.0.0.0:8080');
    // AUDIENCE's default (port 3000) does not say where an API on another port is: /docs would redirect there.
    expect(loadConfig({ PORT: '3400' }).PUBLIC_URL).toBe('http://127.0.0.1:3400');
    expect(loadConfig({ AUDIENCE: 'urn:notes', PUBLIC_URL: 'https://Notes.Example.com/' }).PUBLIC_URL).toBe('https://notes.example.com');
    expect(() => loadConfig({ PUBLIC_URL: 'ftp://x' })).toThrow(/^Invalid configuration: PUBLIC_URL must be an http\(s\) URL$/);
  });

  it('when only the issuer is given, then every default is filled in and the result is frozen', () => {
    const config = loadConfig({ ISSUER_BASE_URL: 'https://tenant.example.auth0.com/' });
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      TOKEN_SIGNING_ALGS: ['RS256'],
      CLOCK_TOLERANCE_SECONDS: 5,
      STRICT_RFC9068: false,
      LOG_LEVEL: 'info',
      LOG_CLIENT_ERRORS_PER_MINUTE: 100,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('when lists and flags are given, then they are parsed', () => {
    const config = loadConfig({ TOKEN_SIGNING_ALGS: 'RS256, ES256', STRICT_RFC9068: 'true', ALLOWED_CLIENT_IDS: 'a,b' });
    expect(config.TOKEN_SIGNING_ALGS).toEqual(['RS256', 'ES256']);
    expect(config.STRICT_RFC9068).toBe(true);
    expect(config.ALLOWED_CLIENT_IDS).toEqual(['a', 'b']);
  });

  it.each([
    [{ ISSUER_BASE_URL: 'not a url' }, /^Invalid configuration: ISSUER_BASE_URL must be an http\(s\) URL$/],
    [{ PORT: 'eighty' }, /^Invalid configuration: PORT must be a number$/],
    [{ PORT: '70000' }, /^Invalid configuration: PORT /],
    [{ TOKEN_SIGNING_ALGS: 'HS256' }, /^Invalid configuration: TOKEN_SIGNING_ALGS each must be one of RS256/],
    [{ TOKEN_SIGNING_ALGS: 'none' }, /^Invalid configuration: TOKEN_SIGNING_ALGS/],
    [{ STRICT_RFC9068: 'maybe' }, /^Invalid configuration: STRICT_RFC9068 must be true or false$/],
    [{ LOG_LEVEL: 'loud' }, /^Invalid configuration: LOG_LEVEL /],
    [{ CLOCK_TOLERANCE_SECONDS: '-1' }, /^Invalid configuration: CLOCK_TOLERANCE_SECONDS /],
    [{ HEAP_GROWING_PERCENT: '-1' }, /^Invalid configuration: HEAP_GROWING_PERCENT /],
    [{ HEAP_GROWING_PERCENT: 'half' }, /^Invalid configuration: HEAP_GROWING_PERCENT must be a number$/],
    [{ LOG_CLIENT_ERRORS_PER_MINUTE: '-5' }, /^Invalid configuration: LOG_CLIENT_ERRORS_PER_MINUTE /],
    [{ LOG_CLIENT_ERRORS_PER_MINUTE: 'many' }, /^Invalid configuration: LOG_CLIENT_ERRORS_PER_MINUTE must be a number$/],
    [{ LOG_CLIENT_ERRORS_PER_MINUTE: '2.5' }, /^Invalid configuration: LOG_CLIENT_ERRORS_PER_MINUTE must be a whole number$/],
    // The line never repeats the URL: it may carry a password.
    [{ REDIS_URL: 'http://user:hunter2@cache:6379' }, /^Invalid configuration: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL$/],
    [{ REDIS_URL: 'cache:6379' }, /^Invalid configuration: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL$/],
    [{ REDIS_TIMEOUT_MS: 'soon' }, /^Invalid configuration: REDIS_TIMEOUT_MS must be a number$/],
    [{ RATE_LIMIT_SYNC_INTERVAL_MS: '1' }, /^Invalid configuration: RATE_LIMIT_SYNC_INTERVAL_MS /],
    [{ REDIS_KEY_PREFIX: 'has space' }, /^Invalid configuration: REDIS_KEY_PREFIX /],
  ])('when the environment is %j, then a ConfigError of one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('starting the server with a bad configuration', () => {
  const start = (env: Record<string, string>) => runServerToExit(env);

  it('when ISSUER_BASE_URL is not set in production, then it exits 1 with one line saying how to set it', () => {
    const result = start({ NODE_ENV: 'production' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/ISSUER_BASE_URL is not set.*ISSUER_BASE_URL=https:\/\//);
  });

  it('when a value is malformed, then it exits 1 naming the variable', () => {
    const result = start({ ISSUER_BASE_URL: 'https://tenant.example/', PORT: 'x' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('Invalid configuration: PORT must be a number');
  });
});

describe('the configuration table in README.md', () => {
  it('when the schema and the README are compared, then they name the same variables', () => {
    const readme = fs.readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
    const documented = [...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(documented.length).toBeGreaterThan(5);
    expect(documented).toEqual(Object.keys(configSchema.shape).sort());
  });
});

describe('.env.example', () => {
  it('when compared with the schema, then it names every variable', () => {
    const example = fs.readFileSync('.env.example', 'utf8');
    const named = [...example.matchAll(/^#?([A-Z0-9_]+)=/gm)].map((m) => m[1]).sort();
    expect(named).toEqual(Object.keys(configSchema.shape).sort());
  });

  it('when its uncommented values are loaded, then they form a valid configuration', () => {
    const values = Object.fromEntries([...fs.readFileSync('.env.example', 'utf8').matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    expect(() => loadConfig(values)).not.toThrow();
  });
});
