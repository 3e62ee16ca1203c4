import { hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import swaggerUi from 'swagger-ui-dist';
import { allowOnly } from '../http/routing.js';
import { documentSecurityHeaders } from '../http/security-headers.js';

/** Finds `openapi.yaml` at the project root, from `src/` or from the compiled `dist/src/`. */
export function findOpenApiFile(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'openapi.yaml');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error('openapi.yaml not found above ' + from);
  }
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Notes API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

// A file of its own rather than an inline script, so helmet's Content-Security-Policy can stay strict.
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.yaml', dom_id: '#swagger-ui', deepLinking: true });\n`;

/** A strong validator for a fixed body, computed once (the app leaves ETags to each route). */
const etagOf = (body: string) => `"${hash('sha256', body, 'base64url').slice(0, 27)}"`;

/** `GET /openapi.yaml` serves the contract; `GET /docs` renders it with Swagger UI, served from npm, not a CDN. */
export function docsRouter(): Router {
  const spec = fs.readFileSync(findOpenApiFile(), 'utf8');
  const [specEtag, pageEtag, initEtag] = [spec, PAGE, INIT].map(etagOf);
  const router = Router();
  // What a browser renders gets helmet's full set; the API's JSON responses get the lean `api` profile.
  router.use(['/docs', '/openapi.yaml'], documentSecurityHeaders());
  router
    .route('/openapi.yaml')
    .get((_req, res) => {
      res.type('application/yaml').set('ETag', specEtag).send(spec);
    })
    .all(allowOnly('GET'));
  router
    .route('/docs')
    .get((_req, res) => {
      res.type('html').set('ETag', pageEtag).send(PAGE);
    })
    .all(allowOnly('GET'));
  router.get('/docs/init.js', (_req, res) => {
    res.type('text/javascript').set('ETag', initEtag).send(INIT);
  });
  router.use('/docs', express.static(swaggerUi.getAbsoluteFSPath(), { index: false, maxAge: '1h' }));
  return router;
}
