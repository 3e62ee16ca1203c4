/**
 * Signs in without a browser: follows the authorization server's redirects and submits its login and consent
 * forms over HTTP, keeping its cookies, until it is sent to the redirect URI. Made for the development server's
 * plain HTML forms (scripts and tests); real login pages (Auth0's) need a browser.
 */

export interface HeadlessCredentials {
  user: string;
  password: string;
  /** The one-time code, for a login page that offers a second factor (`autocomplete="one-time-code"`). */
  otp?: string;
}

/** The most redirects and forms one sign-in may take. */
const MAX_STEPS = 12;

/**
 * Drives the sign-in that starts at `authorizationUrl` and returns the URL the server redirected to at the end:
 * `redirectUri` with `code` and `state` (or `error`). Every request has a timeout; the walk never leaves the
 * authorization server's origin.
 *
 * @example
 * const callbackUrl = await signInHeadless(url, { user: 'alice', password: 'alice-dev-password' }, { redirectUri });
 */
export async function signInHeadless(
  authorizationUrl: URL,
  credentials: HeadlessCredentials,
  options: { redirectUri: string; timeoutMs?: number; cookies?: CookieJar },
): Promise<URL> {
  const { redirectUri, timeoutMs = 10_000, cookies: jar = createCookieJar() } = options;
  let request: { url: URL; body?: URLSearchParams } = { url: authorizationUrl };
  let passwordSent = false;

  for (let step = 0; step < MAX_STEPS; step++) {
    if (request.url.origin !== authorizationUrl.origin) throw new Error(`the sign-in left the authorization server for ${request.url.origin}`);
    const response = await fetch(request.url, {
      method: request.body ? 'POST' : 'GET',
      headers: {
        Accept: 'text/html',
        ...(jar.header(request.url) ? { Cookie: jar.header(request.url) } : {}),
        ...(request.body ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    jar.store(response.headers.getSetCookie(), request.url);

    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const location = new URL(response.headers.get('location') ?? '', request.url);
      if (withoutQuery(location) === withoutQuery(new URL(redirectUri))) return location;
      request = { url: location };
      continue;
    }

    const html = await response.text();
    const form = firstForm(html);
    if (!form) throw new Error(`the authorization server answered ${response.status}: ${pageText(html)}`);
    if (form.inputs.some((input) => input.type === 'password')) {
      if (passwordSent) throw new Error(`the authorization server refused the sign-in of ${credentials.user}: ${pageText(html)}`);
      passwordSent = true;
    }
    const fields = new URLSearchParams();
    let userFilled = false;
    for (const input of form.inputs) {
      if (input.type === 'password') fields.append(input.name, credentials.password);
      else if (input.autocomplete === 'one-time-code') fields.append(input.name, credentials.otp ?? '');
      else if (!userFilled && ['text', 'email'].includes(input.type) && !input.value) {
        fields.append(input.name, credentials.user);
        userFilled = true;
      } else fields.append(input.name, input.value);
    }
    request = { url: new URL(form.action || request.url.href, request.url), body: fields };
  }
  throw new Error(`the sign-in did not reach ${redirectUri} within ${MAX_STEPS} steps`);
}

function withoutQuery(url: URL): string {
  const bare = new URL(url);
  bare.search = '';
  bare.hash = '';
  return bare.href;
}

interface Form {
  action: string;
  inputs: { name: string; type: string; value: string; autocomplete: string | undefined }[];
}

/** The first `<form>` of a page and its named `<input>`s (a login page's or a consent page's). */
function firstForm(html: string): Form | undefined {
  const match = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!match) return undefined;
  const inputs = [...match[2]!.matchAll(/<input\b([^>]*)>/gi)]
    .map((input) => attributes(input[1]!))
    .filter((attrs) => attrs.name)
    .map((attrs) => ({ name: attrs.name!, type: (attrs.type ?? 'text').toLowerCase(), value: attrs.value ?? '', autocomplete: attrs.autocomplete }));
  return { action: attributes(match[1]!).action ?? '', inputs };
}

function attributes(source: string): Record<string, string | undefined> {
  const found: Record<string, string> = {};
  for (const [, name, ...values] of source.matchAll(/([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    found[name!.toLowerCase()] = decodeEntities(values.find((value) => value !== undefined) ?? '');
  }
  return found;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, body: string) => {
    if (body[0] === '#') return String.fromCodePoint(body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : Number(body.slice(1)));
    return NAMED_ENTITIES[body.toLowerCase()] ?? entity;
  });
}

/** What a page says, for an error message: its alert if it has one, else its text, shortened. */
function pageText(html: string): string {
  const alert = /<[^>]+class="error"[^>]*>([\s\S]*?)<\/[a-z]+>/i.exec(html)?.[1];
  const body = /<body\b[^>]*>([\s\S]*)<\/body>/i.exec(html)?.[1] ?? html;
  const text = decodeEntities((alert ?? body).replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text || '(empty page)';
}

/** The cookies of one browser, for one origin. */
export type CookieJar = ReturnType<typeof createCookieJar>;

/**
 * Just enough of RFC 6265 for one origin: name, value, path, and deletion. Pass the same jar to several sign-ins to
 * keep the authorization server's session between them, as a browser does (then `max_age` or `acr_values` decide
 * whether the user is asked to sign in again).
 */
export function createCookieJar() {
  const cookies = new Map<string, { value: string; path: string }>();
  return {
    store(setCookies: string[], url: URL) {
      for (const line of setCookies) {
        const [pair = '', ...attrs] = line.split(';').map((part) => part.trim());
        const eq = pair.indexOf('=');
        if (eq <= 0) continue;
        const name = pair.slice(0, eq);
        const attr = (key: string) => attrs.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
        // RFC 6265 §5.1.4: without a Path attribute, the request path up to its last "/".
        const path = attr('path') || url.pathname.replace(/\/[^/]*$/, '') || '/';
        const expires = attr('expires');
        const gone = attr('max-age') === '0' || (expires !== undefined && Date.parse(expires) <= Date.now());
        const key = `${path}\n${name}`;
        if (gone) cookies.delete(key);
        else cookies.set(key, { value: pair.slice(eq + 1), path });
      }
    },
    header(url: URL): string {
      const matches = (path: string) => url.pathname === path || url.pathname.startsWith(path.endsWith('/') ? path : `${path}/`);
      return [...cookies]
        .filter(([, cookie]) => matches(cookie.path))
        .map(([key, cookie]) => `${key.slice(key.indexOf('\n') + 1)}=${cookie.value}`)
        .join('; ');
    },
  };
}
