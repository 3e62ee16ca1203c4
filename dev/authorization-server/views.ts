import { DEV_ONE_TIME_CODE } from './authentication-context.js';
import { DEV_USERS } from './users.js';

/** What each scope lets the app do, in the user's words. */
const SCOPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  openid: 'Know who you are',
  offline_access: 'Stay signed in (a refresh token)',
  'read:notes': 'Read your notes',
  'write:notes': 'Create and change your notes',
  'delete:notes': 'Delete your notes',
};

const escape = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · development authorization server</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 26rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
label, input, button { display: block; width: 100%; box-sizing: border-box; }
input { margin: .25rem 0 1rem; padding: .5rem; font: inherit; }
button { padding: .6rem; font: inherit; cursor: pointer; margin-top: .5rem; }
.error { color: #a00; font-weight: bold; }
.note { color: #666; font-size: .85rem; }
</style>
</head>
<body>
<main>
<h1>${escape(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

const devUsersNote =
  `<p class="note">Development only. Users: ${DEV_USERS.map((u) => `<code>${escape(u.login)}</code> / <code>${escape(u.password)}</code>`).join(', ')}. ` +
  `Second factor: the one-time code <code>${DEV_ONE_TIME_CODE}</code>.</p>`;

export interface LoginPageOptions {
  uid: string;
  clientId: string;
  login?: string;
  error?: string;
  /** Why the user signs in (again): a fresher or a stronger login was asked for. */
  notice?: string;
  /** `required` when the app asked for a multi-factor login (`acr_values`); otherwise giving it is up to the user. */
  secondFactor: 'optional' | 'required';
}

/** The sign-in form; it posts `login`, `password` and the one-time code `otp` to `/interaction/{uid}/login`. */
export function loginPage(options: LoginPageOptions): string {
  const required = options.secondFactor === 'required';
  return page(
    'Sign in',
    `<p><strong>${escape(options.clientId)}</strong> asks you to sign in.</p>
${options.notice ? `<p role="status">${escape(options.notice)}</p>` : ''}
${options.error ? `<p class="error" role="alert">${escape(options.error)}</p>` : ''}
<form method="post" action="/interaction/${escape(options.uid)}/login" autocomplete="off">
<label for="login">User name</label>
<input id="login" name="login" type="text" required autofocus value="${escape(options.login)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<label for="otp">One-time code (second factor${required ? ', required' : ', optional'})</label>
<input id="otp" name="otp" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6"${required ? ' required' : ''}>
<button type="submit">Sign in</button>
</form>
${devUsersNote}`,
  );
}

/** The consent form: allow posts to `/interaction/{uid}/confirm`, deny to `/interaction/{uid}/abort`. */
export function consentPage(options: { uid: string; clientId: string; user: string; audience: string; scopes: string[] }): string {
  const items = options.scopes.map((scope) => `<li><code>${escape(scope)}</code> — ${escape(SCOPE_DESCRIPTIONS[scope] ?? scope)}</li>`);
  return page(
    'Allow access?',
    `<p>Signed in as <strong>${escape(options.user)}</strong>.</p>
<p><strong>${escape(options.clientId)}</strong> asks to use <strong>${escape(options.audience)}</strong> on your behalf:</p>
<ul>
${items.join('\n')}
</ul>
<form method="post" action="/interaction/${escape(options.uid)}/confirm">
<button type="submit">Allow</button>
</form>
<form method="post" action="/interaction/${escape(options.uid)}/abort">
<button type="submit">Deny</button>
</form>`,
  );
}

/** An error page: the OAuth error code and its public description, never internals. */
export function errorPage(options: { error: string; description?: string }): string {
  return page(
    'Something went wrong',
    `<p class="error"><code>${escape(options.error)}</code></p>
${options.description ? `<p>${escape(options.description)}</p>` : ''}
<p class="note">Start the sign-in again from the app.</p>`,
  );
}

/** Headers for every page: never cached, never framed (the consent button must not be clickjacked), no scripts. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};
