import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A one-shot HTTP listener on 127.0.0.1 that receives the authorization response (RFC 8252 §7.3). */
export interface LoopbackReceiver {
  /** `http://127.0.0.1:{port}{path}`: the redirect URI to send in the authorization request. */
  readonly redirectUri: string;
  /** Resolves with the full callback URL the browser was sent to; rejects when nothing came in time. */
  readonly callback: Promise<URL>;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (port 0 = any free port) for the one redirect that carries the authorization response.
 *
 * @example
 * const receiver = await listenOnLoopback({ timeoutMs: 5 * 60_000 });
 * // … send the browser to the authorization URL with redirect_uri = receiver.redirectUri …
 * const callbackUrl = await receiver.callback;
 */
export async function listenOnLoopback(options: { port?: number; path?: string; timeoutMs: number }): Promise<LoopbackReceiver> {
  const { port = 0, path = '/callback', timeoutMs } = options;
  let resolve!: (url: URL) => void;
  let reject!: (error: Error) => void;
  const callback = new Promise<URL>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  callback.catch(() => undefined);
  let received = false;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', redirectBase);
    if (req.method !== 'GET' || url.pathname !== path) return void res.writeHead(404).end();
    if (received) return void res.writeHead(409, HEADERS).end(page('This sign-in was already received.'));
    received = true;
    clearTimeout(timer);
    const failed = url.searchParams.has('error');
    res.writeHead(200, HEADERS).end(page(failed ? 'Sign-in failed: see the terminal.' : 'Signed in. You can close this tab.'));
    resolve(url);
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => done());
  });
  const redirectBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const timer = setTimeout(() => {
    const wait = timeoutMs >= 60_000 ? `${Math.round(timeoutMs / 60_000)} minutes` : `${Math.ceil(timeoutMs / 1000)} s`;
    reject(new Error(`no sign-in arrived within ${wait}; run the login again`));
  }, timeoutMs);

  return {
    redirectUri: `${redirectBase}${path}`,
    callback,
    close: () =>
      new Promise<void>((done) => {
        clearTimeout(timer);
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

const HEADERS = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Security-Policy': "default-src 'none'" };
const page = (text: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Notes sign-in</title></head><body><p>${text}</p></body></html>`;
