import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020Module, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

/** A response the checker saw on a path of the spec. */
export interface SeenResponse {
  /** The request method as sent (`HEAD` stays `HEAD`, though it is checked against the GET operation). */
  method: string;
  /** The spec's path template, e.g. `/v1/notes/{id}`. */
  template: string;
  status: number;
}

/** Checks every response of a handler against the OpenAPI document and remembers what did not match. */
export interface SpecConformance {
  /** A listener that runs `handler` and checks each response it sends against the spec. */
  wrap(handler: http.RequestListener): http.RequestListener;
  /** Each mismatch so far, e.g. `POST /v1/notes 201: /title must be string`. */
  violations(): string[];
  /** Forgets the violations and the responses seen. */
  reset(): void;
  /** The responses checked on paths of the spec. */
  seen(): SeenResponse[];
}

// The subset of an OpenAPI 3.1 document (dereferenced: no `$ref` left) that the checker reads.
type JsonSchema = Record<string, unknown>;
interface MediaTypeObject {
  schema?: JsonSchema;
}
interface HeaderObject {
  required?: boolean;
}
interface ResponseObject {
  content?: Record<string, MediaTypeObject>;
  headers?: Record<string, HeaderObject>;
}
interface OperationObject {
  responses?: Record<string, ResponseObject>;
}
type PathItemObject = Partial<Record<string, OperationObject>>;
interface OpenApiDocument {
  paths?: Record<string, PathItemObject>;
  components?: { schemas?: Record<string, JsonSchema> };
}

/**
 * A CommonJS package's default export: Node's ESM loader hands over `module.exports` (which for ajv and ajv-formats
 * also carries `.default`), TypeScript types it as the namespace, and other loaders may unwrap it first.
 */
function cjsDefault<T>(mod: { default: T }): T {
  return (mod as { default?: T }).default ?? (mod as unknown as T);
}
const Ajv2020 = cjsDefault(Ajv2020Module);
const addFormats = cjsDefault(addFormatsModule);

/** An Ajv for OpenAPI 3.1 schemas (JSON Schema 2020-12) with the standard formats; OpenAPI keywords are ignored. */
export function createAjv(): InstanceType<typeof Ajv2020> {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv;
}

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Reads a JSON document on stdin, runs one swagger-parser method on it, writes the result as JSON on stdout.
const SWAGGER_PARSER_SCRIPT = `
const SwaggerParser = require('@apidevtools/swagger-parser');
let input = '';
process.stdin.setEncoding('utf8').on('data', (chunk) => { input += chunk; }).on('end', async () => {
  try {
    process.stdout.write(JSON.stringify(await SwaggerParser[process.argv[1]](JSON.parse(input))));
  } catch (error) {
    process.stderr.write(String((error && error.message) || error));
    process.exitCode = 1;
  }
});
`;

/**
 * Runs `@apidevtools/swagger-parser`'s `dereference` or `validate` on a parsed document and returns its result.
 * It runs in a plain Node process: swagger-parser is CommonJS and require()s `@apidevtools/json-schema-ref-parser`,
 * an ES module, which Node (>= 20.19) allows but Jest's module registry refuses before Node 24.9 ("Must use import
 * to load ES Module"), whatever `require` one reaches it with. The result comes back as JSON, so the document must
 * have no circular `$ref`s; rejects with swagger-parser's message when it fails.
 */
export function runSwaggerParser(method: 'dereference' | 'validate', document: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['-e', SWAGGER_PARSER_SCRIPT, method],
      { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`swagger-parser ${method}: ${stderr.trim() || error.message}`));
        else resolve(JSON.parse(stdout) as unknown);
      },
    );
    child.stdin?.end(JSON.stringify(document));
  });
}

const GENERIC_PROBLEM: JsonSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' } },
};

/**
 * Reads the spec (a path relative to the project root, or absolute), dereferences it and returns a checker.
 *
 * @example
 * const conformance = await loadSpecConformance();
 * const server = http.createServer(conformance.wrap(app));
 * // … requests …
 * expect(conformance.violations()).toEqual([]);
 */
export async function loadSpecConformance(specPath = 'openapi.yaml'): Promise<SpecConformance> {
  const text = await fs.promises.readFile(path.resolve(PROJECT_ROOT, specPath), 'utf8');
  return createSpecConformance((await runSwaggerParser('dereference', parseYaml(text))) as OpenApiDocument);
}

/** The same as `loadSpecConformance`. */
export const specConformance = loadSpecConformance;

interface Route {
  template: string;
  pattern: RegExp;
  item: PathItemObject;
}

function createSpecConformance(spec: OpenApiDocument): SpecConformance {
  const ajv = createAjv();
  const validators = new WeakMap<JsonSchema, ValidateFunction>();
  const problemSchema = spec.components?.schemas?.Problem ?? GENERIC_PROBLEM;
  const found: string[] = [];
  const exercised: SeenResponse[] = [];

  // Literal paths win over templated ones (`/v1/notes/mine` before `/v1/notes/{id}`).
  const routes: Route[] = Object.entries(spec.paths ?? {})
    .map(([template, item]) => ({
      template,
      item,
      pattern: new RegExp(`^${template.split(/\{[^}/]+\}/).map(escapeRegExp).join('[^/]+')}$`),
    }))
    .sort((a, b) => paramCount(a.template) - paramCount(b.template));

  const routeOf = (pathname: string): Route | undefined => routes.find((candidate) => candidate.pattern.test(pathname));

  const check = (method: string, url: string, status: number, headers: Headers, body: Buffer): void => {
    const pathname = normalizePath(url);
    const route = routeOf(pathname);
    const operation = route ? operationOf(route.item, method) : undefined;
    if (method === 'OPTIONS' && !operation) return; // answered with Allow; not an operation of the spec
    const label = `${method} ${route?.template ?? pathname} ${status}`;
    if (route) exercised.push({ method, template: route.template, status });

    let response: ResponseObject | undefined;
    if (operation) {
      const documented = operation.responses ?? {};
      response = documented[String(status)] ?? documented[`${String(status)[0]}XX`] ?? documented.default;
      if (!response) {
        found.push(`${label}: status ${status} is not documented (documented: ${Object.keys(documented).join(', ')})`);
        return;
      }
    } else if (status === 404 || status === 405) {
      // An unknown path or method: no entry of its own, but still a problem, and a 405 must say what is allowed.
      response = {
        content: { 'application/problem+json': { schema: problemSchema } },
        headers: status === 405 ? { Allow: { required: true } } : {},
      };
    } else if (route) {
      found.push(`${label}: ${method} is not an operation of ${route.template}`);
      return;
    } else {
      return; // not a path of the spec (e.g. the Swagger UI assets)
    }

    for (const [name, header] of Object.entries(response.headers ?? {})) {
      if (header.required && name.toLowerCase() !== 'content-type' && headers[name.toLowerCase()] === undefined) {
        found.push(`${label}: required header ${name} is missing`);
      }
    }
    checkContent(label, method, response, headers, body);
  };

  const checkContent = (label: string, method: string, response: ResponseObject, headers: Headers, body: Buffer): void => {
    const declared = Object.entries(response.content ?? {});
    if (declared.length === 0) {
      if (body.length > 0) found.push(`${label}: expected no body, got ${body.length} bytes`);
      return;
    }
    const listed = declared.map(([media]) => media).join(', ');
    const mediaType = String(headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (mediaType === '') {
      found.push(`${label}: no Content-Type (expected ${listed})`);
      return;
    }
    const entry = declared.find(([media]) => mediaTypeMatches(media, mediaType));
    if (!entry) {
      found.push(`${label}: Content-Type ${mediaType} is not one of ${listed}`);
      return;
    }
    const schema = entry[1].schema;
    const encoding = String(headers['content-encoding'] ?? 'identity').toLowerCase();
    if (method === 'HEAD' || !isJson(mediaType) || schema === undefined || encoding !== 'identity') return;

    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      found.push(`${label}: body is not valid JSON`);
      return;
    }
    let validate = validators.get(schema);
    if (!validate) {
      validate = ajv.compile(schema);
      validators.set(schema, validate);
    }
    if (!validate(value)) {
      for (const error of validate.errors ?? []) found.push(`${label}: ${describeError(error)}`);
    }
  };

  const wrap = (handler: http.RequestListener): http.RequestListener => {
    const listener: http.RequestListener = (req, res) => {
      const method = (req.method ?? 'GET').toUpperCase();
      const url = req.url ?? '/';
      const chunks: Buffer[] = [];
      const headHeaders: Headers = {};
      let done = false;
      // Bodies that will be checked are kept; others (the Swagger UI bundle…) are not, once the status is known.
      let wanted: boolean | undefined;

      const keep = (chunk: unknown, encoding: unknown): void => {
        wanted ??= routeOf(normalizePath(url)) !== undefined || res.statusCode === 404 || res.statusCode === 405;
        if (!wanted) return;
        if (typeof chunk === 'string') chunks.push(Buffer.from(chunk, isEncoding(encoding) ? encoding : 'utf8'));
        else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
      };

      const originalWriteHead = res.writeHead;
      const originalWrite = res.write;
      const originalEnd = res.end;

      // Headers passed to writeHead() directly may never reach getHeaders(); keep them aside.
      res.writeHead = function writeHead(this: http.ServerResponse, ...args: unknown[]) {
        const fields = args.slice(1).find((arg) => typeof arg === 'object' && arg !== null);
        Object.assign(headHeaders, headersFrom(fields));
        return Reflect.apply(originalWriteHead, this, args) as http.ServerResponse;
      } as typeof res.writeHead;

      res.write = function write(this: http.ServerResponse, ...args: unknown[]) {
        keep(args[0], args[1]);
        return Reflect.apply(originalWrite, this, args) as boolean;
      } as typeof res.write;

      res.end = function end(this: http.ServerResponse, ...args: unknown[]) {
        if (typeof args[0] !== 'function') keep(args[0], args[1]);
        const result = Reflect.apply(originalEnd, this, args) as http.ServerResponse;
        if (!done) {
          done = true;
          try {
            check(method, url, res.statusCode, { ...lowerCaseKeys(res.getHeaders()), ...headHeaders }, Buffer.concat(chunks));
          } catch (error) {
            found.push(`${method} ${normalizePath(url)} ${res.statusCode}: the checker failed: ${String(error)}`);
          }
        }
        return result;
      } as typeof res.end;

      handler(req, res);
    };
    return listener;
  };

  return {
    wrap,
    violations: () => [...found],
    reset: () => {
      found.length = 0;
      exercised.length = 0;
    },
    seen: () => exercised.map((entry) => ({ ...entry })),
  };
}

type Headers = Record<string, string | number | string[] | undefined>;

function operationOf(item: PathItemObject, method: string): OperationObject | undefined {
  const key = method.toLowerCase();
  return item[key] ?? (key === 'head' ? item.get : undefined);
}

/** The path of a request target: no query, no fragment, no trailing slash (Express routes ignore it). */
function normalizePath(url: string): string {
  const pathname = url.split(/[?#]/, 1)[0] || '/';
  return pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
}

function paramCount(template: string): number {
  return (template.match(/\{[^}/]+\}/g) ?? []).length;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `application/json` matches itself, `application/*` and `*\/*`; parameters are compared away. */
function mediaTypeMatches(declared: string, actual: string): boolean {
  const [type, subtype] = declared.split(';')[0]!.trim().toLowerCase().split('/');
  const [actualType, actualSubtype] = actual.split('/');
  return (type === '*' || type === actualType) && (subtype === '*' || subtype === actualSubtype);
}

function isJson(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

function isEncoding(value: unknown): value is BufferEncoding {
  return typeof value === 'string' && Buffer.isEncoding(value);
}

function lowerCaseKeys(headers: http.OutgoingHttpHeaders): Headers {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** The headers argument of writeHead(): an object, or a flat `[name, value, name, value…]` array. */
function headersFrom(fields: unknown): Headers {
  if (Array.isArray(fields)) {
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i + 1 < fields.length; i += 2) pairs.push([String(fields[i]).toLowerCase(), String(fields[i + 1])]);
    return Object.fromEntries(pairs);
  }
  return typeof fields === 'object' && fields !== null ? lowerCaseKeys(fields as http.OutgoingHttpHeaders) : {};
}

/** `/title must be string`; the document itself is `/`. */
function describeError(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const detail =
    'additionalProperty' in params
      ? ` (${String(params.additionalProperty)})`
      : 'allowedValues' in params
        ? `: ${JSON.stringify(params.allowedValues)}`
        : '';
  return `${error.instancePath || '/'} ${error.message ?? 'is invalid'}${detail}`;
}
