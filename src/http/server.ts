import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ApiRequest, ApiResponse, requestClassesFor, type ExpressPrototypes, type RequestClasses } from './request-state.js';
import type { Duplex } from 'node:stream';

export interface RunningServer {
  server: http.Server;
  /** `http://host:port`, with the port actually bound. */
  url: string;
  /**
   * Begins draining: the server keeps accepting and serving, but every response from now on carries
   * `Connection: close`, so clients and load balancers move their connections elsewhere, and kept-alive connections
   * idle right now are closed. `onRequest` is called for each request received while draining.
   */
  drain(onRequest?: () => void): void;
  /** Stops accepting, closes idle connections, and resolves when the last open one has closed. */
  close(): Promise<void>;
}

// Node answers a request it cannot parse (e.g. headers over 16 KiB) before Express sees it;
// this keeps even those answers in the API's own problem format.
function answerUnparseableRequest(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify({
    type: 'about:blank',
    title: http.STATUS_CODES[status],
    status,
    detail: status === 431 ? 'The request headers are too large (over 16 KiB).' : 'The request could not be parsed as HTTP.',
  });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Reads each connection's peer address as it is accepted. Node's socket keeps the address in a field it adds on the
 * first read. Left to whichever request reads it first (a sampled request's span, a refused request's rate limit), the
 * sockets of one process added that field at different points of their lives and took different shapes in V8, which
 * made the code every request runs through its socket (reads, writes, the idle timer) megamorphic at 10 % trace
 * sampling (docs/performance.md). Read here, it costs one `getpeername` per connection and gives every socket one shape.
 */
function readPeerAddress(socket: Socket): void {
  void socket.remoteAddress;
}

/** An Express app keeps the prototypes of its requests and responses; a plain listener does not. */
const isExpressApp = (listener: object): listener is http.RequestListener & ExpressPrototypes =>
  'request' in listener && 'response' in listener && typeof listener.request === 'object' && typeof listener.response === 'object';

export interface ServerOptions {
  host: string;
  port: number;
  /** The Express app the listener hands its requests to, when the listener is not the app itself but wraps it. */
  app?: ExpressPrototypes;
}

/** Listens with the API's limits and returns once the port is bound. */
export async function startServer(listener: http.RequestListener, options: ServerOptions): Promise<RunningServer> {
  // Requests and responses made with the fields the API keeps on them, and for an Express app born with its
  // prototypes (see request-state.ts).
  const app = options.app ?? (isExpressApp(listener) ? listener : undefined);
  const classes: RequestClasses = app ? requestClassesFor(app) : { IncomingMessage: ApiRequest, ServerResponse: ApiResponse };
  const server = http.createServer(
    {
      IncomingMessage: classes.IncomingMessage,
      // Node's typings want the generic class itself; ApiResponse only adds fields.
      ServerResponse: classes.ServerResponse as unknown as typeof http.ServerResponse,
      maxHeaderSize: 16 * 1024,
      requestTimeout: 30_000,
      headersTimeout: 20_000,
    },
    listener,
  );
  server.keepAliveTimeout = 65_000;
  server.on('clientError', answerUnparseableRequest);
  server.on('connection', readPeerAddress);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  let draining = false;
  return {
    server,
    url: `http://${host}:${port}`,
    drain(onRequest) {
      if (draining) return;
      draining = true;
      // Before the app's own listener, so the header is there whatever the app answers; Node then closes the
      // connection once the response is sent. Installed only now: until a signal, requests pay nothing for it.
      server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
        res.setHeader('Connection', 'close');
        onRequest?.();
      });
      server.closeIdleConnections();
    },
    close: () =>
      new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
