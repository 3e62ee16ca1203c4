import { Router } from 'express';
import { resourceMetadata, resourceMetadataPaths, type ResourceMetadataOptions } from '../auth/resource-metadata.js';
import { sendJson } from '../http/json-response.js';
import { allowOnly } from '../http/routing.js';

/**
 * `GET /.well-known/oauth-protected-resource` (and its path-suffixed form): serves the protected resource metadata
 * (RFC 9728), which auth/resource-metadata.ts writes.
 */
export function resourceMetadataRouter(options: ResourceMetadataOptions): Router {
  const router = Router();
  for (const path of resourceMetadataPaths(options.resource)) {
    router
      .route(path)
      .get((_req, res) => {
        res.setHeader('Cache-Control', 'public, max-age=3600');
        sendJson(res, resourceMetadata(options));
      })
      .all(allowOnly('GET'));
  }
  return router;
}
