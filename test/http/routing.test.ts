import { describe, expect, it } from '@jest/globals';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import request from 'supertest';
import { answeringErrors, inSequence } from '../../src/http/routing.js';

/** A real Express app whose routes run their handlers with inSequence; errors come back as `error: <message>`. */
function appWith(routes: (app: express.Express) => void) {
  const app = express();
  routes(app);
  app.use((_req, res) => {
    res.status(404).send('no route');
  });
  const errors: ErrorRequestHandler = (err: Error, _req, res, _next) => {
    res.status(500).send(`error: ${err.message}`);
  };
  app.use(errors);
  return app;
}

const mark =
  (name: string): RequestHandler =>
  (_req, res, next) => {
    res.append('X-Ran', name);
    next();
  };

describe('inSequence', () => {
  it('when every handler calls next, then they run in order and the last one answers', async () => {
    const app = appWith((a) => a.get('/x', inSequence(mark('a'), mark('b'), (_req, res) => void res.send('done'))));
    const res = await request(app).get('/x');
    expect(res.status).toBe(200);
    expect(res.text).toBe('done');
    expect(res.headers['x-ran']).toBe('a, b');
  });

  it('when a handler throws, passes an error, or returns a rejected promise, then the error handler answers and no later handler runs', async () => {
    const never: RequestHandler = (_req, res) => void res.send('should not run');
    const app = appWith((a) => {
      a.get('/thrown', inSequence(mark('a'), () => { throw new Error('thrown'); }, never));
      a.get('/passed', inSequence(mark('a'), (_req, _res, next) => next(new Error('passed')), never));
      a.get('/rejected', inSequence(mark('a'), async () => { throw new Error('rejected'); }));
      a.get('/first-throws', inSequence(() => { throw new Error('first'); }, never));
      a.get('/async-then-sync', inSequence((_req, _res, next) => void setImmediate(next), () => { throw new Error('later'); }));
    });
    for (const [path, message] of [['/thrown', 'thrown'], ['/passed', 'passed'], ['/rejected', 'rejected'], ['/first-throws', 'first'], ['/async-then-sync', 'later']]) {
      const res = await request(app).get(path!);
      expect(res.status).toBe(500);
      expect(res.text).toBe(`error: ${message}`);
    }
  });

  it("when a handler calls next('route'), then the next matching route answers, as with Express's own handlers", async () => {
    const app = appWith((a) => {
      a.get('/x', inSequence(mark('a'), (_req, _res, next) => next('route'), (_req, res) => void res.send('skipped')));
      a.get('/x', (_req, res) => void res.send('next route'));
    });
    const res = await request(app).get('/x');
    expect(res.text).toBe('next route');
    expect(res.headers['x-ran']).toBe('a');
  });
});

describe('answeringErrors', () => {
  const respond = (error: unknown, _req: express.Request, res: express.Response) => void res.status(429).send(`answered: ${(error as Error).message}`);
  const routeAfter = (handler: RequestHandler) =>
    appWith((a) => {
      a.use(answeringErrors(respond, handler));
      a.get('/x', (_req, res) => void res.send('route ran'));
    });

  it('when the wrapped handler throws, passes an error or rejects, then respond answers at once, not a route or the error handler', async () => {
    const handlers: [string, RequestHandler][] = [
      ['thrown', () => { throw new Error('thrown'); }],
      ['passed', (_req, _res, next) => next(new Error('passed'))],
      ['rejected', async () => { throw new Error('rejected'); }],
      ['passed later', (_req, _res, next) => void setImmediate(() => next(new Error('passed later')))],
      ['in sequence', inSequence(mark('a'), (_req, _res, next) => next(new Error('in sequence')))],
    ];
    for (const [message, handler] of handlers) {
      const res = await request(routeAfter(handler)).get('/x');
      expect(res.status).toBe(429);
      expect(res.text).toBe(`answered: ${message}`);
    }
  });

  it("when the wrapped handler calls next() or next('route'), then routing goes on to the route", async () => {
    for (const handler of [mark('a'), ((_req, _res, next) => next('route')) as RequestHandler]) {
      const res = await request(routeAfter(handler)).get('/x');
      expect(res.status).toBe(200);
      expect(res.text).toBe('route ran');
    }
  });
});
