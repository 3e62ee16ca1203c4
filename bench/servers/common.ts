import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Note } from '../../src/notes/note-json.js';

/** What every note in the bench looks like, in the comparison servers and when seeding our API. */
export const NOTE_TITLE = 'Bench note';
export const NOTE_BODY = 'A short note, about the length a person types on a phone: groceries, a call to return.';
export const PAGE_SIZE = 20;

const SCOPE = 'read:notes write:notes delete:notes';


function note(title: string, body: string): Note {
  const now = new Date().toISOString();
  return { id: randomUUID(), title, body, created_at: now, updated_at: now };
}

/** A stored page of 20 notes, the same shape as `GET /v1/notes` of our API. */
export const NOTES_PAGE: { items: Note[]; next_cursor: string | null } = {
  items: Array.from({ length: PAGE_SIZE }, (_, i) => note(`${NOTE_TITLE} ${PAGE_SIZE - i}`, NOTE_BODY)),
  next_cursor: null,
};

/** The body of `GET /v1/me`, the same shape as our API's. */
export function meBody(claims: Record<string, unknown>) {
  const scope = typeof claims.scope === 'string' ? claims.scope : SCOPE;
  return {
    sub: claims.sub,
    client_id: claims.client_id ?? null,
    scopes: scope.split(' ').filter(Boolean),
    permissions: [] as string[],
    expires_at: new Date(Number(claims.exp) * 1000).toISOString(),
    token_type: 'user',
    issuer: claims.iss,
  };
}

/** What the comparison servers answer to `POST /v1/notes`: the note made from the body. */
export function echoNote(body: unknown): Note {
  const input = (body ?? {}) as { title?: unknown; body?: unknown };
  return note(String(input.title ?? ''), String(input.body ?? ''));
}

/** Listens on 127.0.0.1, port 0, and tells the bench the port on stdout. */
export function listen(app: Express): void {
  const server: Server = app.listen(0, '127.0.0.1', () => {
    console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
  });
  const close = () => {
    server.close();
    server.closeAllConnections();
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

/** A claim set for the server without authentication, as if a token had been verified. */
export const STATIC_CLAIMS = {
  sub: 'bench|user',
  client_id: 'bench-app',
  scope: SCOPE,
  exp: Math.floor(Date.now() / 1000) + 4 * 3600,
  iss: 'http://127.0.0.1/',
};

/** Issue 23: the bench API's client at the bench issuer's introspection endpoint (`client_secret_basic`). */
export const BENCH_INTROSPECTION_CLIENT = { id: 'bench-api', secret: 'bench-api-secret' } as const;
