/**
 * Typed errors: each knows its HTTP status, its problem type (RFC 9457) and whether its detail may be shown.
 * The error handler is the only place that turns them into responses.
 */

const PROBLEM_NAMESPACE = 'urn:notes-api:problem:';

/** Members a problem's extensions cannot redefine: RFC 9457's own, and the request id this API adds. */
type ReservedProblemMember = 'type' | 'title' | 'status' | 'detail' | 'instance' | 'request_id';
export type ProblemExtensions = Record<string, unknown> & { [member in ReservedProblemMember]?: never };

export interface HttpErrorOptions {
  status: number;
  /** A problem slug (`urn:notes-api:problem:<slug>`), or `about:blank` for plain HTTP errors. */
  slug?: string;
  title: string;
  detail: string;
  headers?: Record<string, string>;
  extensions?: ProblemExtensions;
  cause?: unknown;
}

/** Base of every error the API answers with on purpose. */
export class HttpError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly headers: Record<string, string>;
  readonly extensions: ProblemExtensions;
  /** Server faults keep their detail to the log; the client sees a generic one. */
  readonly expose: boolean;

  constructor(options: HttpErrorOptions) {
    super(options.detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status;
    this.type = options.slug ? PROBLEM_NAMESPACE + options.slug : 'about:blank';
    this.title = options.title;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
    this.expose = options.status < 500;
  }
}

export class NotFoundError extends HttpError {
  constructor(detail = 'No resource exists at this URL.') {
    super({ status: 404, title: 'Not Found', detail });
  }
}

export class MethodNotAllowedError extends HttpError {
  constructor(allowed: readonly string[]) {
    super({
      status: 405,
      title: 'Method Not Allowed',
      detail: `This URL supports ${allowed.join(', ')}.`,
      headers: { Allow: allowed.join(', ') },
    });
  }
}

export interface FieldError {
  detail: string;
  /** JSON Pointer (RFC 6901) into the request body, as a URI fragment. */
  pointer?: string;
  /** Name of a query parameter. */
  parameter?: string;
}

/** The detail of a field whose text is not Unicode: a lone surrogate escaped in JSON, or bytes that are not UTF-8. */
export const NOT_UNICODE_DETAIL = 'must be well-formed Unicode text (UTF-8, no lone surrogates)';

export class ValidationError extends HttpError {
  constructor(errors: FieldError[]) {
    super({
      status: 400,
      slug: 'validation-failed',
      title: 'Validation Failed',
      detail: `The request has ${errors.length} invalid ${errors.length === 1 ? 'field' : 'fields'}.`,
      extensions: { errors },
    });
  }
}

export class MalformedJsonError extends HttpError {
  constructor() {
    super({ status: 400, slug: 'malformed-json', title: 'Malformed JSON', detail: 'The request body is not valid JSON.' });
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number) {
    super({ status: 413, title: 'Content Too Large', detail: `The request body is larger than ${limitBytes} bytes.` });
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(accepted: readonly string[]) {
    super({
      status: 415,
      title: 'Unsupported Media Type',
      detail: `The request body must be ${accepted.join(' or ')}.`,
    });
  }
}

export class PreconditionFailedError extends HttpError {
  constructor() {
    super({
      status: 412,
      slug: 'precondition-failed',
      title: 'Precondition Failed',
      detail: 'The resource changed since you read it (If-Match does not match its ETag); fetch it again and retry.',
    });
  }
}

export class ServiceUnavailableError extends HttpError {
  constructor(detail: string, options: { cause?: unknown; extensions?: ProblemExtensions } = {}) {
    super({
      status: 503,
      slug: 'service-unavailable',
      title: 'Service Unavailable',
      detail,
      headers: { 'Retry-After': '5' },
      ...options,
    });
  }
}

/** The database cannot be reached, or did not answer in time: the request may succeed if retried. */
export class DatabaseUnavailableError extends ServiceUnavailableError {
  constructor(cause?: unknown) {
    super('The database is unavailable; retry shortly.', { cause, extensions: { action: 'retry' } });
  }
}

/**
 * What a storage engine rejects with when it cannot serve right now (busy, locked, full, unreachable, too slow): the
 * operation may succeed if retried. Not an HTTP error: each engine raises it in its own layer (src/db/sqlite/,
 * src/db/postgres/), from its own codes, and the error handler answers it as `DatabaseUnavailableError` (503).
 */
export class StorageUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The storage cannot serve right now', { cause });
    this.name = 'StorageUnavailableError';
  }
}

/** A 403 that is not about scopes: the caller is known but this kind of caller may not do this. */
export class ForbiddenError extends HttpError {
  constructor(slug: 'user-token-required' | 'client-not-allowed', title: string, detail: string) {
    super({ status: 403, slug, title, detail });
  }
}
