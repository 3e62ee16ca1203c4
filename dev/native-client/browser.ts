import { spawn } from 'node:child_process';

/** Asks the desktop to open `url` in the default browser; failing to is fine (the URL is printed anyway). */
export function openInBrowser(url: URL): void {
  const [command, ...args] =
    process.platform === 'darwin'
      ? ['open', url.href]
      : process.platform === 'win32'
        ? // `start` goes through cmd.exe, which would split the URL at each `&`.
          ['rundll32', 'url.dll,FileProtocolHandler', url.href]
        : ['xdg-open', url.href];
  try {
    const child = spawn(command!, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No browser here (a server, a container): the user opens the printed URL themselves.
  }
}
