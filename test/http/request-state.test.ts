import { afterEach, describe, expect, it } from '@jest/globals';
import express, { type Express } from 'express';
import type http from 'node:http';
import { Socket } from 'node:net';
import request from 'supertest';
import { ApiRequest, ApiResponse, requestClassesFor } from '../../src/http/request-state.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { send } from '../support/replica-client.js';

/** Whether `name` is an accessor (getter or setter) anywhere on `proto`'s chain. */
function isAccessor(proto: object | null, name: string | symbol): boolean {
  for (let p = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(p, name);
    if (descriptor) return descriptor.get !== undefined || descriptor.set !== undefined;
  }
  return false;
}

/** An app whose one route tells what its request and response were made as, and that Express's own API works on them. */
function introspectingApp(): Express {
  const app = express();
  app.set('query parser', 'simple');
  app.get('/look/:id', (req, res) => {
    res.status(200).json({
      requestPrototypeIsTheApps: Object.getPrototypeOf(req) === app.request,
      responsePrototypeIsTheApps: Object.getPrototypeOf(res) === app.response,
      madeByOurClasses: req instanceof requestClassesFor(app).IncomingMessage && res instanceof requestClassesFor(app).ServerResponse,
      path: req.path,
      query: req.query,
      params: req.params,
      ip: req.ip,
      appIsThisOne: req.app === app && res.app === app,
    });
  });
  return app;
}

const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

describe('the request and response classes', () => {
  it("when their fields are declared up front, then none hides one of Express's getters (query, path, ip…)", () => {
    const app = express();
    const { IncomingMessage, ServerResponse } = requestClassesFor(app);
    for (const [Request, Response] of [
      [ApiRequest, ApiResponse],
      [IncomingMessage, ServerResponse],
    ] as const) {
      const req = new Request(new Socket());
      const res = new Response(req);
      const requestFields = Reflect.ownKeys(req);
      expect(requestFields).toEqual(expect.arrayContaining(['id', 'res', 'route', 'params', 'originalUrl']));
      for (const name of requestFields) expect([name, isAccessor(app.request, name)]).toEqual([name, false]);
      for (const name of Reflect.ownKeys(res)) expect([name, isAccessor(app.response, name)]).toEqual([name, false]);
    }
    // The getters themselves are still Express's.
    expect(isAccessor(app.request, 'query')).toBe(true);
    expect(isAccessor(app.request, 'path')).toBe(true);
  });

  it.each([
    ['the app itself', (app: Express) => startServer(app, { host: '127.0.0.1', port: 0 })],
    [
      'a listener wrapping it',
      (app: Express) => startServer((req: http.IncomingMessage, res: http.ServerResponse) => app(req, res), { host: '127.0.0.1', port: 0, app }),
    ],
  ])("when the server is given %s, then requests are born with Express's prototypes and Express's API works on them", async (_, start) => {
    const app = introspectingApp();
    running.push(await start(app));
    const res = await request(running[0]!.url).get('/look/42?q=1').expect(200);
    expect(res.body).toEqual({
      requestPrototypeIsTheApps: true,
      responsePrototypeIsTheApps: true,
      madeByOurClasses: true,
      path: '/look/42',
      query: { q: '1' },
      params: { id: '42' },
      ip: '127.0.0.1',
      appIsThisOne: true,
    });
  });

  it('when one app is served twice, then both servers make its requests with the same classes', async () => {
    const app = introspectingApp();
    const classes = requestClassesFor(app);
    running.push(await startServer(app, { host: '127.0.0.1', port: 0 }), await startServer(app, { host: '127.0.0.1', port: 0 }));
    expect(requestClassesFor(app)).toBe(classes);
    for (const server of running) {
      const res = await request(server.url).get('/look/1').expect(200);
      expect(res.body).toMatchObject({ requestPrototypeIsTheApps: true, madeByOurClasses: true });
    }
  });

  it('when a plain listener is served, then its requests are made with the classes and Node\'s own prototypes', async () => {
    let seen: unknown;
    running.push(
      await startServer(
        (req, res) => {
          seen = req instanceof ApiRequest && res instanceof ApiResponse;
          res.end('ok');
        },
        { host: '127.0.0.1', port: 0 },
      ),
    );
    await request(running[0]!.url).get('/').expect(200, 'ok');
    expect(seen).toBe(true);
  });
});

describe("the connections' sockets", () => {
  it('when one request reads its peer address and another does not, then their sockets have the same fields in the same order', async () => {
    // What a request's code finds on its socket: the fields, in the order the socket gained them (its shape in V8).
    const seen = new Map<string, { socket: object; fields: (string | symbol)[]; peer?: string }>();
    running.push(
      await startServer(
        (req, res) => {
          // As a sampled request's span and a refused request's rate limit do; other requests never ask.
          const peer = req.url === '/reads-peer' ? req.socket.remoteAddress : undefined;
          seen.set(req.url!, { socket: req.socket, fields: Reflect.ownKeys(req.socket), peer });
          res.end('{}');
        },
        { host: '127.0.0.1', port: 0 },
      ),
    );
    const { url } = running[0]!;
    // `Connection: close`: each request on a connection of its own.
    const ownConnection = { headers: { connection: 'close' } };
    const statuses = [(await send(url, '/reads-peer', ownConnection)).status, (await send(url, '/quiet', ownConnection)).status];
    expect(statuses).toEqual([200, 200]);
    const reads = seen.get('/reads-peer')!;
    const quiet = seen.get('/quiet')!;
    expect(reads.peer).toBe('127.0.0.1');
    expect(reads.socket).not.toBe(quiet.socket);
    expect(quiet.fields).toEqual(reads.fields);
  });
});
