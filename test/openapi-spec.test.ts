import fs from 'node:fs';
import type http from 'node:http';
import { beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { parse } from 'yaml';
import { createAjv, loadSpecConformance, runSwaggerParser, type SpecConformance } from './support/spec-conformance.js';

// The parts of the dereferenced document these tests read.
interface Parameter {
  name: string;
  in: string;
}
interface Operation {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Parameter[];
  responses?: Record<string, { headers?: Record<string, unknown> } | undefined>;
}
interface Spec {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: {
      oauth2: { flows: { authorizationCode: { scopes: Record<string, string> } } };
      dpop?: { type: string; scheme: string };
    };
  };
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PROBLEM_TYPES = new Set([
  'about:blank',
  ...['invalid-request', 'unauthorized', 'invalid-token', 'insufficient-scope', 'user-token-required', 'client-not-allowed']
    .concat(['invalid-dpop-proof', 'use-dpop-nonce', 'insufficient-user-authentication'])
    .concat(['validation-failed', 'malformed-json', 'precondition-failed', 'rate-limited', 'service-unavailable'])
    .map((slug) => `urn:notes-api:problem:${slug}`),
]);

// Paths the rate limits never apply to: the platform's probes.
const UNLIMITED_PATHS = new Set(['/healthz', '/readyz']);

const readSpec = (): unknown => parse(fs.readFileSync('openapi.yaml', 'utf8'));
let spec: Spec;
beforeAll(async () => {
  spec = (await runSwaggerParser('dereference', readSpec())) as Spec;
});

function operations(): Array<{ name: string; path: string; method: string; operation: Operation }> {
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, path, method, operation })),
  );
}

describe('openapi.yaml', () => {
  it('when validated, then it is a valid OpenAPI 3.1 document', async () => {
    await expect(runSwaggerParser('validate', readSpec())).resolves.toMatchObject({ openapi: '3.1.0' });
  });

  it('when its operations are read, then each has an id, a 2xx answer and a security requirement', () => {
    const problems: string[] = [];
    const ids = new Set<string>();
    for (const { name, path, operation } of operations()) {
      if (!operation.operationId) problems.push(`${name}: no operationId`);
      else if (ids.has(operation.operationId)) problems.push(`${name}: operationId ${operation.operationId} is used twice`);
      else ids.add(operation.operationId);
      if (!Object.keys(operation.responses ?? {}).some((code) => /^2(\d\d|XX)$/.test(code))) problems.push(`${name}: no 2xx response`);
      if (!Array.isArray(operation.security)) problems.push(`${name}: no security requirement (use security: [] for a public one)`);
      else if (path.startsWith('/v1/') === (operation.security.length === 0)) {
        problems.push(`${name}: ${path.startsWith('/v1/') ? 'a /v1 route must need a token' : 'a public route must have security: []'}`);
      }
    }
    expect(problems).toEqual([]);
    expect(ids.size).toBeGreaterThanOrEqual(11);
  });

  it('when any operation is read, then it lists 414 and 431 (any path), and 429 unless it is a probe', () => {
    const problems: string[] = [];
    for (const { name, path, operation } of operations()) {
      const expected = ['414', '431', ...(UNLIMITED_PATHS.has(path) ? [] : ['429'])];
      for (const code of expected) if (!operation.responses?.[code]) problems.push(`${name}: no ${code} response`);
      if (UNLIMITED_PATHS.has(path) && operation.responses?.['429']) problems.push(`${name}: a probe is never rate limited`);
    }
    expect(problems).toEqual([]);
  });

  it('when a rate-limited operation succeeds, then its answer documents RateLimit, RateLimit-Policy and X-Request-Id', () => {
    const problems: string[] = [];
    for (const { name, path, operation } of operations()) {
      for (const [code, response] of Object.entries(operation.responses ?? {})) {
        if (!/^[23]\d\d$/.test(code)) continue;
        const headers = Object.keys(response?.headers ?? {});
        const expected = ['X-Request-Id', ...(UNLIMITED_PATHS.has(path) ? [] : ['RateLimit', 'RateLimit-Policy'])];
        for (const header of expected) if (!headers.includes(header)) problems.push(`${name} ${code}: no ${header} header`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('when the protected resource metadata operation is read, then it is public and cacheable (RFC 9728)', () => {
    const operation = spec.paths['/.well-known/oauth-protected-resource']?.get;
    expect(operation?.security).toEqual([]);
    expect(operation?.responses?.['200']?.headers).toHaveProperty('Cache-Control');
  });

  it('when its /v1 operations are read, then each lists the errors it can answer, the DPoP and pasted-token alternatives, and scopes the oauth2 scheme defines', () => {
    const defined = Object.keys(spec.components.securitySchemes.oauth2.flows.authorizationCode.scopes);
    const problems: string[] = [];
    const v1 = operations().filter(({ path }) => path.startsWith('/v1/'));
    for (const { name, path, method, operation } of v1) {
      const expected = ['400', '401', '403', '414', '429', '431', '500', '503'];
      if (path.includes('{id}')) expected.push('404');
      if (method === 'post' || method === 'patch') expected.push('413', '415');
      if (method === 'patch' || method === 'delete') expected.push('412');
      for (const code of expected) if (!operation.responses?.[code]) problems.push(`${name}: no ${code} response`);

      const schemes = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement)).sort();
      if (schemes.join() !== 'bearerToken,dpop,oauth2,openIdConnect') problems.push(`${name}: security lists ${schemes.join() || 'nothing'}`);
      if (!operation.parameters?.some((parameter) => parameter.in === 'header' && parameter.name === 'DPoP')) {
        problems.push(`${name}: no DPoP header parameter`);
      }
      for (const requirement of operation.security ?? []) {
        if (requirement.dpop && requirement.dpop.length > 0) problems.push(`${name}: the dpop (http) scheme takes no scopes`);
        for (const scope of Object.values(requirement).flat()) {
          if (!defined.includes(scope)) problems.push(`${name}: scope ${scope} is not a scope of the oauth2 scheme`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(v1.length).toBe(6);
    expect(spec.components.securitySchemes.dpop).toMatchObject({ type: 'http', scheme: 'DPoP' });
  });

  it('when its examples are read, then each is valid against its schema, and problems have a known type and their status', () => {
    const ajv = createAjv();
    const problems: string[] = [];
    const visited = new Set<object>();
    // Media types, parameters and headers are the objects with a `schema` next to `example`/`examples`.
    const walk = (node: unknown, where: string, status: number | undefined): void => {
      if (typeof node !== 'object' || node === null || visited.has(node)) return;
      visited.add(node);
      const object = node as Record<string, unknown>;
      if (typeof object.schema === 'object' && object.schema !== null) {
        const examples = Object.entries((object.examples ?? {}) as Record<string, { value?: unknown }>).map(
          ([name, example]) => [name, example.value] as const,
        );
        if ('example' in object) examples.push(['example', object.example]);
        const validate = ajv.compile(object.schema as object);
        for (const [name, value] of examples) {
          if (!validate(value)) problems.push(`${where} ${name}: ${ajv.errorsText(validate.errors)}`);
          const problem = value as { type?: unknown; status?: unknown } | undefined;
          if (where.endsWith('application/problem+json')) {
            if (!PROBLEM_TYPES.has(String(problem?.type))) problems.push(`${where} ${name}: unknown problem type ${String(problem?.type)}`);
            if (status !== undefined && problem?.status !== status) problems.push(`${where} ${name}: status is not ${status}`);
          }
        }
      }
      for (const [key, child] of Object.entries(object)) {
        if (key === 'schema') continue;
        const code = /^[1-5]\d\d$/.test(key) ? Number(key) : status;
        walk(child, `${where}/${key}`, code);
      }
    };
    // Each response is visited first under the operations, where its status is known.
    walk(spec.paths, '#/paths', undefined);
    walk(spec.components, '#/components', undefined);
    expect(problems).toEqual([]);
    expect(visited.size).toBeGreaterThan(50);
  });
});

describe('the spec conformance checker (on a stand-in handler, not the app)', () => {
  const ID = '3f0c9a4e-7b1d-4c2e-9a5f-1d2e3f4a5b6c';
  const NOTE = { id: ID, title: 'Groceries', body: '', created_at: '2025-01-01T09:30:00.000Z', updated_at: '2025-01-01T09:30:00.000Z' };
  const NOTE_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', ETag: '"v1"', 'Cache-Control': 'no-store' };

  let conformance: SpecConformance;
  let reply: http.RequestListener;
  let client: ReturnType<typeof request>;
  beforeAll(async () => {
    conformance = await loadSpecConformance();
    client = request(conformance.wrap((req, res) => reply(req, res)));
  });
  beforeEach(() => conformance.reset());

  const json =
    (status: number, body: unknown, headers: Record<string, string> = NOTE_HEADERS): http.RequestListener =>
    (_req, res) => {
      res.writeHead(status, headers);
      res.end(JSON.stringify(body));
    };

  it('when a note is answered without its title, then the violation names the operation, status and field', async () => {
    const untitled: Record<string, unknown> = { ...NOTE };
    delete untitled.title;
    reply = json(200, untitled);
    await client.get(`/v1/notes/${ID}`).expect(200);
    expect(conformance.violations()).toEqual([`GET /v1/notes/{id} 200: / must have required property 'title'`]);
  });

  it('when a field has the wrong type, then its pointer is reported', async () => {
    reply = json(201, { ...NOTE, title: 42 }, { ...NOTE_HEADERS, Location: `/v1/notes/${ID}` });
    await client.post('/v1/notes').send({ title: 'x' }).expect(201);
    expect(conformance.violations()).toEqual(['POST /v1/notes 201: /title must be string']);
  });

  it('when the response matches the spec, then nothing is reported and the response is seen', async () => {
    reply = (_req, res) => {
      // Headers set one by one, the way Express does, and the body written in two chunks.
      for (const [name, value] of Object.entries(NOTE_HEADERS)) res.setHeader(name, value);
      const body = JSON.stringify(NOTE);
      res.write(body.slice(0, 10));
      res.end(Buffer.from(body.slice(10)));
    };
    await client.get(`/v1/notes/${ID}?fields=all`).expect(200);
    await client.head(`/v1/notes/${ID}`).expect(200);
    expect(conformance.violations()).toEqual([]);
    expect(conformance.seen()).toEqual([
      { method: 'GET', template: '/v1/notes/{id}', status: 200 },
      { method: 'HEAD', template: '/v1/notes/{id}', status: 200 },
    ]);
  });

  it('when a required header is missing, then it is reported', async () => {
    reply = json(200, NOTE, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    await client.get(`/v1/notes/${ID}`).expect(200);
    expect(conformance.violations()).toEqual(['GET /v1/notes/{id} 200: required header ETag is missing']);
  });

  it('when the media type or the status is not the documented one, then it is reported', async () => {
    reply = json(200, NOTE, { ...NOTE_HEADERS, 'Content-Type': 'text/plain' });
    await client.get(`/v1/notes/${ID}`);
    reply = json(418, { type: 'about:blank', title: "I'm a Teapot", status: 418, detail: 'No.' });
    await client.get('/v1/notes');
    expect(conformance.violations()).toEqual([
      'GET /v1/notes/{id} 200: Content-Type text/plain is not one of application/json',
      expect.stringMatching(/^GET \/v1\/notes 418: status 418 is not documented \(documented: 200, 400, /),
    ]);
  });

  it('when a problem lacks a required member, then it is reported against the shared Problem schema', async () => {
    reply = json(401, { type: 'urn:notes-api:problem:unauthorized', title: 'Unauthorized', status: 401 }, {
      'Content-Type': 'application/problem+json',
      'WWW-Authenticate': 'Bearer realm="notes-api"',
      'Cache-Control': 'no-store',
    });
    await client.get('/v1/me').expect(401);
    expect(conformance.violations()).toEqual([`GET /v1/me 401: / must have required property 'detail'`]);
  });

  it('when a response that has no body in the spec carries one, then it is reported', async () => {
    reply = json(204, NOTE, { 'Cache-Control': 'no-store' });
    await client.delete(`/v1/notes/${ID}`).expect(204);
    // Node drops a 204's body on the wire; the checker sees what the handler wrote.
    expect(conformance.violations()).toEqual([expect.stringMatching(/^DELETE \/v1\/notes\/\{id\} 204: expected no body/)]);
  });

  it('when a path is not in the spec (a Swagger UI asset), then it is not checked', async () => {
    reply = (_req, res) => {
      res.setHeader('Content-Type', 'text/css');
      res.end('body { margin: 0 }');
    };
    await client.get('/docs/swagger-ui.css').expect(200);
    expect(conformance.violations()).toEqual([]);
    expect(conformance.seen()).toEqual([]);
  });

  it('when an unknown method or path is refused, then the answer is checked as a problem (405 with Allow)', async () => {
    const problem = (status: number) => ({ type: 'about:blank', title: 'No', status, detail: 'No.' });
    reply = json(405, problem(405), { 'Content-Type': 'application/problem+json', Allow: 'GET, POST, HEAD, OPTIONS' });
    await client.put('/v1/notes').expect(405);
    expect(conformance.violations()).toEqual([]);

    reply = json(405, problem(405), { 'Content-Type': 'application/problem+json' });
    await client.put('/v1/notes').expect(405);
    reply = (_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/html' });
      res.end('<h1>Not Found</h1>');
    };
    await client.get('/nope').expect(404);
    expect(conformance.violations()).toEqual([
      'PUT /v1/notes 405: required header Allow is missing',
      'GET /nope 404: Content-Type text/html is not one of application/problem+json',
    ]);
  });

  it('when reset, then violations and seen responses are forgotten', async () => {
    reply = json(200, {});
    await client.get(`/v1/notes/${ID}`);
    expect(conformance.violations().length).toBeGreaterThan(0);
    conformance.reset();
    expect(conformance.violations()).toEqual([]);
    expect(conformance.seen()).toEqual([]);
  });
});
