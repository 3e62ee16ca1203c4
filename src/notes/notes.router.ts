import type { IRouter, RequestHandler } from 'express';
import { callerOf, requireAuthentication, requireUser, type ScopeGuards } from '../auth/index.js';
import { jsonBody } from '../http/json-body.js';
import { sendJsonText } from '../http/json-response.js';
import { allowOnly, inSequence } from '../http/routing.js';
import { ifNoneMatchHits } from './etag.js';
import { listQuerySchema, noteCreateSchema, notePatchSchema, parseOrThrow } from './notes.schema.js';
import type { NotesService } from './notes.service.js';

/** The notes routes: parse, guard, respond. What they do lives in the service. */
export interface NotesRouterDeps {
  /** Verifies the token (and counts the request against its user). */
  authenticate: RequestHandler;
  scopes: ScopeGuards;
  /** Step-up for deletions (RFC 9470); no requirement when both are unset. */
  stepUp: { maxAge: number | undefined; acrValues: readonly string[] | undefined };
  service: NotesService;
}

/** Registers the notes routes on the app itself (as meRoutes, for the same reason). */
export function notesRoutes(router: IRouter, deps: NotesRouterDeps): void {
  const { authenticate, scopes, stepUp, service } = deps;
  // Order of checks: token (401) → user token and scope (403) → step-up (401) → ownership (404).
  const forUser = (scope: string) => inSequence(authenticate, requireUser, scopes.require(scope));
  const deletionGuards = stepUp.maxAge !== undefined || stepUp.acrValues ? [requireAuthentication(stepUp)] : [];

  router
    .route('/v1/notes')
    .get(forUser('read:notes'), async (req, res) => {
      const query = parseOrThrow(listQuerySchema, req.query, 'query');
      sendJsonText(res, await service.listJson(callerOf(req).sub, query));
    })
    .post(forUser('write:notes'), jsonBody, async (req, res) => {
      const input = parseOrThrow(noteCreateSchema, req.body, 'body');
      const { id, json, etag } = await service.create(callerOf(req).sub, input);
      res.location(`/v1/notes/${id}`).setHeader('ETag', etag);
      sendJsonText(res, json, 201);
    })
    .all(allowOnly('GET', 'POST'));

  router
    .route('/v1/notes/:id')
    .get(forUser('read:notes'), async (req, res) => {
      const { json, etag } = await service.get(callerOf(req).sub, req.params.id!);
      res.set('ETag', etag);
      if (ifNoneMatchHits(req.get('If-None-Match'), etag)) res.status(304).end();
      else sendJsonText(res, json);
    })
    .patch(forUser('write:notes'), jsonBody, async (req, res) => {
      const patch = parseOrThrow(notePatchSchema, req.body, 'body');
      const { json, etag } = await service.update(callerOf(req).sub, req.params.id!, patch, req.get('If-Match'));
      res.setHeader('ETag', etag);
      sendJsonText(res, json);
    })
    .delete(forUser('delete:notes'), ...deletionGuards, async (req, res) => {
      await service.delete(callerOf(req).sub, req.params.id!, req.get('If-Match'));
      res.status(204).end();
    })
    .all(allowOnly('GET', 'PATCH', 'DELETE'));
}
