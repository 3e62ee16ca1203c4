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

/**
 * The pages' only stylesheet, served by the development server itself at `STYLESHEET_PATH` (a file, not a `<style>`
 * block, so the Content-Security-Policy needs no `'unsafe-inline'`). One column that fits a 320 px screen, large
 * touch targets, a visible keyboard focus, and text that wraps rather than scrolls sideways.
 */
export const STYLESHEET = `*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; padding: 2rem 1rem;
  color: #1b1b1b; background: #f4f5f7; overflow-wrap: anywhere; }
main { max-width: 26rem; margin: 0 auto; background: #fff; border: 1px solid #d8dbe0; border-radius: 8px; padding: 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin-top: 1rem; }
.hint { display: block; font-weight: normal; color: #555; font-size: .875rem; }
input { display: block; width: 100%; margin-top: .25rem; padding: .6rem .7rem; font: inherit; border: 1px solid #8a8f98; border-radius: 4px; }
input[aria-invalid="true"] { border-color: #b00020; }
button { display: block; width: 100%; margin-top: 1.25rem; padding: .7rem; font: inherit; font-weight: 600; border-radius: 4px;
  border: 1px solid #1a56db; background: #1a56db; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #1a56db; margin-top: .75rem; }
:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.error { color: #b00020; background: #fdecee; border-left: 4px solid #b00020; padding: .5rem .75rem; font-weight: 600; }
.notice { background: #eef4ff; border-left: 4px solid #1a56db; padding: .5rem .75rem; }
.note { color: #555; font-size: .875rem; margin-top: 1.5rem; }
ul { padding-left: 1.25rem; }
code { font-size: .9em; }
`;

/** Where the development server serves `STYLESHEET`. */
export const STYLESHEET_PATH = '/pages.css';

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · development authorization server</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
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

/**
 * The sign-in form; it posts `login`, `password` and the one-time code `otp` to `/interaction/{uid}/login`. Each
 * field has a label and the `autocomplete` a password manager needs; a refused sign-in comes back with the error
 * announced (`role="alert"`), the fields marked invalid and described by it, and the user name kept.
 */
export function loginPage(options: LoginPageOptions): string {
  const required = options.secondFactor === 'required';
  const invalid = options.error ? ' aria-invalid="true" aria-describedby="error"' : '';
  // After an error the user name is kept, so the password is where to type next.
  const focusLogin = !options.login ? ' autofocus' : '';
  const focusPassword = options.login ? ' autofocus' : '';
  return page(
    required ? 'Sign in with your one-time code' : 'Sign in',
    `<p><strong>${escape(options.clientId)}</strong> asks you to sign in.</p>
${options.notice ? `<p class="notice" role="status">${escape(options.notice)}</p>` : ''}
${options.error ? `<p class="error" id="error" role="alert">${escape(options.error)}</p>` : ''}
<form method="post" action="/interaction/${escape(options.uid)}/login">
<label for="login">User name</label>
<input id="login" name="login" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required${focusLogin}${invalid} value="${escape(options.login)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${focusPassword}${invalid}>
<label for="otp">One-time code <span class="hint" id="otp-hint">${required ? 'Required: the six digits from your authenticator.' : 'Optional: a second factor, six digits.'}</span></label>
<input id="otp" name="otp" type="text" inputmode="numeric" autocomplete="one-time-code" aria-describedby="otp-hint" pattern="[0-9]{6}" maxlength="6"${required ? ' required' : ''}>
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
<button type="submit" class="secondary">Deny</button>
</form>`,
  );
}

/** An error page: the OAuth error code and its public description, never internals. */
export function errorPage(options: { error: string; description?: string }): string {
  return page(
    'Something went wrong',
    `<p class="error" role="alert"><code>${escape(options.error)}</code></p>
${options.description ? `<p>${escape(options.description)}</p>` : ''}
<p class="note">Start the sign-in again from the app.</p>`,
  );
}

/**
 * Headers for every page: never cached, never framed (the consent button must not be clickjacked), no scripts, and
 * no styles but the server's own stylesheet. No `form-action`: Chromium applies it to the redirect that follows a
 * post, and the consent form's ends at the client's redirect URI, on another origin.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};
