import http from 'node:http';
import { CALLER, type Caller } from '../auth/caller.js';
import { SERVER_SPAN } from '../observability/tracing/request-spans.js';

// Node's request and response objects are made by these classes (startServer), which declare up front every field
// that is set on them while a request is handled: the API's own, and those Express and its router add. A field
// added to an object after it is made changes its shape in V8, on every request and for every field; a field that
// exists from construction is a plain write. For an Express app they are also born with Express's prototypes
// (requestClassesFor, below), so Express never has to swap them. Measured in docs/performance.md (fourth and fifth
// passes). Leaving a field out costs only time; a field set to undefined here behaves as one never set, for every
// reader of it.

/** When the front door saw the request, for its latency (http/front-door.ts). */
export const STARTED = Symbol('started');
/** Why authentication or authorization refused the request, for its log line (request-logging.ts). */
export const REFUSAL = Symbol('refusal');
/** The key the request's client is counted under, once found (http/client-address.ts). */
export const CLIENT_KEY = Symbol('client key');

export class ApiRequest extends http.IncomingMessage {
  /** The request id (`X-Request-Id`), set by request logging. */
  id: string | undefined = undefined;
  /** The authenticated caller, under the symbol auth/caller.ts owns. */
  [CALLER]: Caller | undefined = undefined;
  [CLIENT_KEY]: string | undefined = undefined;
  // Set by Express (application.js) and its router (index.js, lib/route.js, parseurl's caches). Never its getters
  // (`query`, `path`, `ip`…): an own field would hide them.
  res: unknown = undefined;
  next: unknown = undefined;
  baseUrl: unknown = undefined;
  originalUrl: unknown = undefined;
  params: unknown = undefined;
  route: unknown = undefined;
  _parsedUrl: unknown = undefined;
  _parsedOriginalUrl: unknown = undefined;
}

export class ApiResponse extends http.ServerResponse<ApiRequest> {
  [STARTED] = 0;
  [REFUSAL]: string | undefined = undefined;
  /** The request's server span while tracing (observability/tracing/request-spans.ts). */
  [SERVER_SPAN]: unknown = undefined;
  /** Set by Express (application.js) for every request. */
  locals: unknown = undefined;
}

/** Where an Express app keeps the prototypes it gives its requests and responses. */
export interface ExpressPrototypes {
  request: object;
  response: object;
}

export interface RequestClasses {
  IncomingMessage: typeof ApiRequest;
  ServerResponse: typeof ApiResponse;
}

const classesByApp = new WeakMap<ExpressPrototypes, RequestClasses>();

/**
 * The classes `app`'s requests and responses are made with: ApiRequest and ApiResponse, whose objects are born with
 * the prototypes Express would give them. Express sets the prototype of every request and response it takes to its
 * own (`app.request`, `app.response`); done to an object already made, that cost about 30 µs of event-loop time per
 * request in V8, more than all of the API's own work on a `GET /v1/me` (docs/performance.md). Made by these classes,
 * they have it already, and Express's `Object.setPrototypeOf` finds nothing to change.
 */
export function requestClassesFor(app: ExpressPrototypes): RequestClasses {
  let classes = classesByApp.get(app);
  if (classes === undefined) {
    class AppRequest extends ApiRequest {}
    class AppResponse extends ApiResponse {}
    // Once per app, at start-up: the chain becomes class → Express's prototype → Node's, and Express uses the classes'
    // prototypes from now on (they inherit everything it put on its own, `app` included).
    Object.setPrototypeOf(AppRequest.prototype, app.request);
    Object.setPrototypeOf(AppResponse.prototype, app.response);
    app.request = AppRequest.prototype;
    app.response = AppResponse.prototype;
    classes = { IncomingMessage: AppRequest, ServerResponse: AppResponse };
    classesByApp.set(app, classes);
  }
  return classes;
}
