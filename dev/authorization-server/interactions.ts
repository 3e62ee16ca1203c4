import express, { Router, type ErrorRequestHandler, type Response } from 'express';
import type { Interaction, Provider } from 'oidc-provider';
import { ACR, isDevOneTimeCode, loginAuthentication, requestedAcrValues, satisfiesAcr } from './authentication-context.js';
import { authenticate } from './users.js';
import { consentPage, errorPage, loginPage, PAGE_HEADERS, type LoginPageOptions } from './views.js';

const form = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 });

/** What the login page says and asks for, from the authorization request behind it (`max_age`, `acr_values`). */
function loginPageFor(interaction: Interaction, extra: { login?: string; error?: string } = {}): LoginPageOptions {
  const { uid, params, prompt } = interaction;
  const requested = requestedAcrValues(params);
  const notice = prompt.reasons.includes('max_age')
    ? 'The app needs a recent sign-in: please sign in again.'
    : prompt.reasons.includes('acr_values')
      ? 'The app needs a stronger sign-in: your password and the one-time code.'
      : undefined;
  return {
    uid,
    clientId: String(params.client_id),
    secondFactor: satisfiesAcr(ACR.PASSWORD, requested) ? 'optional' : 'required',
    ...(notice ? { notice } : {}),
    ...extra,
  };
}

function send(res: Response, status: number, html: string): void {
  res.status(status).set(PAGE_HEADERS).send(html);
}

/**
 * The login and consent pages oidc-provider sends the browser to (`/interaction/{uid}`), and the forms they post.
 * The interaction cookie oidc-provider set ties each post to the browser that started the sign-in.
 */
export function interactionsRouter(provider: Provider, options: { audience: string; log: (line: string) => void }): Router {
  const router = Router();

  router.get('/interaction/:uid', async (req, res) => {
    const interaction = await provider.interactionDetails(req, res);
    const { uid, prompt, params, session } = interaction;
    const clientId = String(params.client_id);
    if (prompt.name === 'login') return send(res, 200, loginPage(loginPageFor(interaction)));
    if (prompt.name === 'consent') {
      const { missingOIDCScope = [], missingResourceScopes = {} } = prompt.details;
      const scopes = [...new Set([...missingOIDCScope, ...Object.values(missingResourceScopes).flat()])];
      return send(res, 200, consentPage({ uid, clientId, user: session?.accountId ?? '', audience: options.audience, scopes }));
    }
    return send(res, 400, errorPage({ error: 'unsupported_prompt', description: `This server cannot handle the prompt "${prompt.name}".` }));
  });

  router.post('/interaction/:uid/login', form, async (req, res) => {
    const interaction = await provider.interactionDetails(req, res);
    if (interaction.prompt.name !== 'login') {
      return send(res, 400, errorPage({ error: 'invalid_request', description: 'This sign-in is not waiting for a password.' }));
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const login = typeof body.login === 'string' ? body.login : '';
    const user = authenticate(body.login, body.password);
    if (!user) {
      options.log(`sign-in refused for user name ${JSON.stringify(String(body.login ?? '').slice(0, 64))}`);
      return send(res, 401, loginPage(loginPageFor(interaction, { login, error: 'Wrong user name or password.' })));
    }
    const code = typeof body.otp === 'string' ? body.otp.trim() : '';
    if (code !== '' && !isDevOneTimeCode(code)) {
      options.log(`sign-in refused for ${user.login}: wrong one-time code`);
      return send(res, 401, loginPage(loginPageFor(interaction, { login, error: 'Wrong one-time code.' })));
    }
    const authentication = loginAuthentication(code !== '');
    if (!satisfiesAcr(authentication.acr, requestedAcrValues(interaction.params))) {
      options.log(`sign-in refused for ${user.login}: the app asked for a second factor (acr_values) and none was given`);
      return send(res, 401, loginPage(loginPageFor(interaction, { login, error: 'This app asks for a second factor: enter the one-time code too.' })));
    }
    await provider.interactionFinished(req, res, { login: { accountId: user.sub, ...authentication } }, { mergeWithLastSubmission: false });
  });

  router.post('/interaction/:uid/confirm', form, async (req, res) => {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params, session } = details;
    if (prompt.name !== 'consent' || !session) {
      return send(res, 400, errorPage({ error: 'invalid_request', description: 'This sign-in is not waiting for consent.' }));
    }
    const grant = (details.grantId && (await provider.Grant.find(details.grantId))) || new provider.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
  });

  router.post('/interaction/:uid/abort', form, async (req, res) => {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user denied the request.' },
      { mergeWithLastSubmission: false },
    );
  });

  const interactionErrors: ErrorRequestHandler = (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    // oidc-provider's error classes are matched by name: importing its values here would load it eagerly.
    if ((error as Error | undefined)?.name === 'SessionNotFound') {
      return send(res, 400, errorPage({ error: 'invalid_request', description: 'This sign-in has expired or was started in another browser.' }));
    }
    const status = (error as { status?: unknown } | undefined)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return send(res, status, errorPage({ error: 'invalid_request', description: 'The form could not be read.' }));
    }
    options.log(`interaction failed: ${error instanceof Error ? error.message : String(error)}`);
    return send(res, 500, errorPage({ error: 'server_error' }));
  };
  router.use('/interaction', interactionErrors);

  return router;
}
