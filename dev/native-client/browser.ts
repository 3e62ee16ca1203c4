import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * The commands `BROWSER` names, the convention of xdg-utils, Python's `webbrowser` and git: one or more commands
 * separated by the platform's path separator, each split at spaces, `%s` standing for the URL (appended when absent).
 */
export function browserCommands(browser: string | undefined): string[][] {
  if (!browser) return [];
  return browser
    .split(path.delimiter)
    .map((command) => command.trim().split(/\s+/).filter(Boolean))
    .filter((words) => words.length > 0);
}

function withUrl(words: string[], url: URL): [string, ...string[]] {
  const args = words.some((word) => word.includes('%s')) ? words.map((word) => word.replaceAll('%s', url.href)) : [...words, url.href];
  return args as [string, ...string[]];
}

/** The desktop's own opener: `open`, `rundll32` or `xdg-open`. */
function desktopOpener(url: URL): [string, ...string[]] {
  return process.platform === 'darwin'
    ? ['open', url.href]
    : process.platform === 'win32'
      ? // `start` goes through cmd.exe, which would split the URL at each `&`.
        ['rundll32', 'url.dll,FileProtocolHandler', url.href]
      : ['xdg-open', url.href];
}

/**
 * Hands `url` to a browser: the command given (`--browser`), else `BROWSER`'s first command, else the desktop's
 * default browser. Failing to is fine: the URL is printed anyway, for the user to open.
 *
 * @example
 * openInBrowser(new URL('http://127.0.0.1:4000/auth?…'), { browser: 'chromium --incognito' });
 */
export function openInBrowser(url: URL, options: { browser?: string; env?: NodeJS.ProcessEnv } = {}): void {
  const { env = process.env } = options;
  const [chosen] = browserCommands(options.browser ?? env.BROWSER);
  const [command, ...args] = chosen ? withUrl(chosen, url) : desktopOpener(url);
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No browser here (a server, a container): the user opens the printed URL themselves.
  }
}
