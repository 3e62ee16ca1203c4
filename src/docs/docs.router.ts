import { hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import swaggerUi from 'swagger-ui-dist';
import { allowOnly } from '../http/routing.js';
import { documentSecurityHeaders } from '../http/security-headers.js';
import { servedContract } from './served-contract.js';
import type { SignInEndpoints, SignInEndpointsSource } from './sign-in-endpoints.js';

/** Finds `openapi.yaml` at the project root, from `src/` or from the compiled `dist/src/`. */
export function findOpenApiFile(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'openapi.yaml');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error('openapi.yaml not found above ' + from);
  }
}

/** How the docs page signs in: the settings Swagger UI's "Authorize" dialog comes with. */
export interface DocsSignIn {
  /** The API's external origin (`PUBLIC_URL`): Swagger UI's redirect URI is `{publicUrl}/docs/oauth2-redirect.html`. */
  publicUrl: string;
  /** The public client the page signs in with (`DOCS_CLIENT_ID`, or the development server's); none: paste a token. */
  clientId: string | undefined;
  /** The API identifier, sent as Auth0's `audience` and RFC 8707's `resource`. */
  audience: string;
  /** The API's scopes, selected in the dialog. */
  scopes: readonly string[];
  /** The issuers the API trusts, and where a browser signs in with each. */
  endpoints: SignInEndpointsSource;
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Notes API</title>
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

/**
 * The page's start-up script: a file of its own rather than an inline script, so the Content-Security-Policy can stay
 * strict. Swagger UI runs the Authorization Code flow with PKCE (S256) as a public client (no secret), and asks for
 * the API as Auth0's `audience` and as RFC 8707's `resource`.
 */
function initScript(signIn: DocsSignIn): string {
  const ui = { url: '/openapi.yaml', dom_id: '#swagger-ui', deepLinking: true, oauth2RedirectUrl: `${signIn.publicUrl}/docs/oauth2-redirect.html` };
  const oauth = {
    clientId: signIn.clientId ?? '',
    appName: 'Notes API docs',
    scopes: [...signIn.scopes],
    usePkceWithAuthorizationCodeGrant: true,
    additionalQueryStringParams: { audience: signIn.audience, ...(URL.canParse(signIn.audience) ? { resource: signIn.audience } : {}) },
  };
  return (
    `${REFERENCE_BELOW_OPERATIONS}\n` +
    `const options = ${JSON.stringify(ui)};\n` +
    'window.ui = SwaggerUIBundle({ ...options, plugins: [referenceBelowOperations] });\n' +
    `window.ui.initOAuth(${JSON.stringify(oauth)});\n`
  );
}

/**
 * A Swagger UI plugin, in the page's script: the contract's description is an introduction followed by reference
 * sections (from its first `## ` heading on). The page shows the introduction above the operations and the
 * reference below them, so it opens on what the API is, how to sign in, and the operations themselves.
 */
const REFERENCE_BELOW_OPERATIONS = `function referenceBelowOperations(system) {
  const split = (description) => {
    const at = typeof description === 'string' ? description.search(/^## /m) : -1;
    return at < 0 ? [description, ''] : [description.slice(0, at), description.slice(at)];
  };
  return {
    statePlugins: {
      spec: { wrapSelectors: { selectInfoDescriptionField: (original) => (...args) => split(original(...args))[0] } },
    },
    wrapComponents: {
      operations: (Operations) => (props) => {
        const { React } = system;
        const reference = split(system.specSelectors.specJson().getIn(['info', 'description']))[1];
        const Markdown = system.getComponent('Markdown', true);
        return React.createElement(React.Fragment, null,
          React.createElement(Operations, props),
          reference && React.createElement('section', { id: 'reference', className: 'info', 'aria-label': 'Reference' },
            React.createElement('div', { className: 'description' }, React.createElement(Markdown, { source: reference }))));
      },
    },
  };
}`;

/**
 * The page's Content-Security-Policy: helmet's defaults, with `connect-src` the API itself and the authorization
 * servers it trusts (their origins, for the discovery document, and their token endpoints', where Swagger UI redeems
 * the code), and nothing else. No `upgrade-insecure-requests` on an http origin: it would turn the page's calls to a
 * development issuer on http://127.0.0.1 into https ones that fail.
 */
function pagePolicy(publicUrl: string, endpoints: readonly SignInEndpoints[]): string {
  const origins = new Set(endpoints.flatMap((each) => [new URL(each.issuer).origin, new URL(each.tokenEndpoint).origin]));
  return [
    "default-src 'self'",
    "base-uri 'self'",
    `connect-src 'self' ${[...origins].join(' ')}`,
    "font-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "img-src 'self' data:",
    "object-src 'none'",
    "script-src 'self'",
    "script-src-attr 'none'",
    // Swagger UI sets style attributes from its scripts; no stylesheet comes from elsewhere.
    "style-src 'self' 'unsafe-inline'",
    ...(publicUrl.startsWith('https:') ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}

/** A strong validator for a fixed body, computed once (the app leaves ETags to each route). */
const etagOf = (body: string) => `"${hash('sha256', body, 'base64url').slice(0, 27)}"`;

/**
 * `GET /openapi.yaml` serves the contract, naming the authorization server the API is configured with; `GET /docs`
 * renders it with Swagger UI, served from npm, not a CDN, and signs in from its "Authorize" dialog.
 */
export function docsRouter(signIn: DocsSignIn): Router {
  const spec = fs.readFileSync(findOpenApiFile(), 'utf8');
  const init = initScript(signIn);
  const [pageEtag, initEtag] = [PAGE, init].map(etagOf);
  // Rewritten when the issuers' endpoints change (their source counts the changes), not per request.
  let served: { version: number; body: string; etag: string } | undefined;
  const contract = async () => {
    await signIn.endpoints.current();
    // Read together, with nothing awaited between: the version is that of these endpoints.
    const version = signIn.endpoints.version();
    if (served?.version !== version) {
      const body = servedContract(spec, signIn.endpoints.known()[0]!, { publicUrl: signIn.publicUrl, docsClientId: signIn.clientId });
      served = { version, body, etag: etagOf(body) };
    }
    return served;
  };

  const router = Router();
  // What a browser renders gets helmet's full set; the API's JSON responses get the lean `api` profile.
  router.use(['/docs', '/openapi.yaml'], documentSecurityHeaders());
  router
    .route('/openapi.yaml')
    .get(async (_req, res) => {
      const { body, etag } = await contract();
      // Revalidated on each use: it changes when the issuer's endpoints do.
      res.type('application/yaml').set({ ETag: etag, 'Cache-Control': 'no-cache' }).send(body);
    })
    .all(allowOnly('GET'));
  router
    .route('/docs')
    .get((_req, res) => {
      // The page never waits for an issuer: its CSP names what is known now (each issuer's origin at least), and
      // the read this starts is what the contract, fetched next by the page, waits for.
      void signIn.endpoints.current();
      const endpoints = signIn.endpoints.known();
      res
        .type('html')
        .set({
          ETag: pageEtag,
          'Content-Security-Policy': pagePolicy(signIn.publicUrl, endpoints),
          // The sign-in popup goes to the authorization server and comes back: it must keep its opener to report.
          'Cross-Origin-Opener-Policy': 'same-origin-allow-popups',
        })
        .send(PAGE);
    })
    .all(allowOnly('GET'));
  router.get('/docs/init.js', (_req, res) => {
    res.type('text/javascript').set('ETag', initEtag).send(init);
  });
  router.use('/docs/oauth2-redirect.html', (_req, res, next) => {
    // The popup arrives here from the authorization server's origin: with COOP `same-origin` it would lose its
    // opener, and Swagger UI would never hear of the code.
    res.set('Cross-Origin-Opener-Policy', 'unsafe-none');
    next();
  });
  router.use('/docs', express.static(swaggerUi.getAbsoluteFSPath(), { index: false, maxAge: '1h' }));
  return router;
}
