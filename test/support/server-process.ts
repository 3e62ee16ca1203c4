import type { ChildProcess } from 'node:child_process';

/** The last `lines` lines of a process's output: enough to explain a failure without flooding it. */
const tail = (text: string, lines = 40) => text.trimEnd().split('\n').slice(-lines).join('\n');

/**
 * Waits for a spawned server (src/main.ts, directly or through npm) to print its "listening on http://127.0.0.1:PORT"
 * line and resolves with that URL. Rejects when the process exits first, or when `timeoutMs` passes; either message
 * carries the last lines of its output.
 *
 * `output` returns everything the process wrote so far: the caller collects stdout and stderr itself (so it still has
 * them for later assertions), and must attach its collecting listeners before calling this.
 *
 * @example
 * const url = await waitForListening(child, () => output, { name: 'server', timeoutMs: 60_000 });
 */
export function waitForListening(child: ChildProcess, output: () => string, options: { name: string; timeoutMs: number }): Promise<string> {
  const { name, timeoutMs } = options;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${tail(output())}`));
    }, timeoutMs);
    const check = () => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output());
      if (match) {
        done();
        resolve(match[1]!);
      }
    };
    const exit = (code: number | null, signal: NodeJS.Signals | null) => {
      done();
      reject(new Error(`${name} exited (code ${code}, signal ${signal}) before listening:\n${tail(output())}`));
    };
    const done = () => {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.off('exit', exit);
    };
    child.stdout!.on('data', check);
    child.once('exit', exit);
  });
}
