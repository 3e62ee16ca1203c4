import { spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** tsx's loader by its path, so the server runs from source whatever the working folder. */
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

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

/**
 * Runs the server from source (src/main.ts) to its end, for a start-up that must fail: its exit status, signal and
 * output. The environment is `env` and PATH, nothing else of the test's; `timeoutMs` ends a start-up that did not
 * fail (the server would listen for ever).
 *
 * @example
 * const result = runServerToExit({ NODE_ENV: 'production' });
 * expect(result.status).toBe(1);
 */
export function runServerToExit(env: Record<string, string>, options: { cwd?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', TSX_LOADER, path.join(ROOT, 'src', 'main.ts')], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 15_000,
  });
}
