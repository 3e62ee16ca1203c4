/**
 * The browser the browser tests and `npm run screenshots` drive: Debian's Chromium (or `CHROMIUM_PATH`, or an
 * installed Chrome) through playwright-core, headless, with a fresh profile per launch. When no browser is found and
 * the process runs as root with apt-get (a CI container, this project's machines), Debian's `chromium` is installed
 * once, whatever the number of test files asking at the same time (`npm test`'s preflight asks first); elsewhere the
 * set-up fails, pointing at the preflight's commands. Never a skip: a browser test that cannot run is a failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { SEE_PREFLIGHT } from './service-recipes.js';

/** The flags every launch gets: no sandbox (containers run as root), no GPU, and no traffic of the browser's own. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/opt/google/chrome/chrome',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];
const INSTALL_COMMAND = 'apt-get update && apt-get install -y chromium';
/** Held while one process installs Chromium; the others wait for it to go. */
const LOCK_FILE = path.join(os.tmpdir(), 'notes-api-chromium-install.lock');
const INSTALL_TIMEOUT_MS = 10 * 60_000;

const isExecutable = (file: string) => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};

/** The browser to drive: `CHROMIUM_PATH` when set (it must exist), else the first of the usual places that does. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) {
    if (!isExecutable(env.CHROMIUM_PATH)) throw new Error(`CHROMIUM_PATH=${env.CHROMIUM_PATH} is not an executable file`);
    return env.CHROMIUM_PATH;
  }
  return CANDIDATES.find(isExecutable);
}

/** Whether this process may install Debian's chromium itself: root, with apt-get (a CI container, this project's machines). */
export const canInstallChromium = () => process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Installs Debian's chromium unless another process is at it, in which case waits for that one to finish. */
function installChromium(): void {
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  for (;;) {
    let lock: number | undefined;
    try {
      lock = fs.openSync(LOCK_FILE, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than an install may take was left by a process that died: take it over.
      const age = Date.now() - (fs.statSync(LOCK_FILE, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > INSTALL_TIMEOUT_MS) fs.rmSync(LOCK_FILE, { force: true });
      if (Date.now() > deadline) throw new Error(`waited ${INSTALL_TIMEOUT_MS / 60_000} min for another process to install Chromium (${LOCK_FILE})`, { cause: error });
      sleepSync(500);
      if (findChromium()) return;
      continue;
    }
    try {
      if (findChromium()) return;
      console.warn(`No Chromium or Chrome found: installing Debian's chromium for the browser tests (${INSTALL_COMMAND})`);
      execFileSync('sh', ['-c', INSTALL_COMMAND], {
        stdio: ['ignore', 'inherit', 'inherit'],
        timeout: INSTALL_TIMEOUT_MS,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      return;
    } finally {
      fs.closeSync(lock);
      fs.rmSync(LOCK_FILE, { force: true });
    }
  }
}

/**
 * The browser's executable: found, or installed when this process may (root with apt-get), or an error that says
 * where to find how to install one.
 */
export function chromiumExecutable(): string {
  const found = findChromium();
  if (found) return found;
  if (canInstallChromium()) {
    installChromium();
    const installed = findChromium();
    if (installed) return installed;
    throw new Error(`\`${INSTALL_COMMAND}\` ran, and still no browser is found at ${CANDIDATES.join(', ')}`);
  }
  throw new Error(`${chromiumProblem()}; ${SEE_PREFLIGHT}`);
}

/**
 * Why the browser tests have no browser: none found and none this process may install (or `CHROMIUM_PATH` names no
 * executable), or `undefined` when one is found or will be installed.
 */
export function chromiumProblem(): string | undefined {
  try {
    if (findChromium() || canInstallChromium()) return undefined;
  } catch (error) {
    return `Chromium or Chrome (CHROMIUM_PATH): ${(error as Error).message}`;
  }
  return `Chromium or Chrome (CHROMIUM_PATH): none found at ${CANDIDATES.join(', ')}`;
}

/** A headless Chromium with a fresh profile of its own; `close()` stops it and removes the profile. */
export interface TestBrowser {
  readonly context: BrowserContext;
  newPage(options?: { width?: number; height?: number }): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Launches Chromium with `CHROMIUM_FLAGS` and a new user-data-dir.
 *
 * @example
 * const browser = await launchChromium();
 * const page = await browser.newPage({ width: 390, height: 844 });
 */
export async function launchChromium(options: { width?: number; height?: number } = {}): Promise<TestBrowser> {
  const executablePath = chromiumExecutable();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-chromium-'));
  // A persistent context is how playwright takes a user-data-dir of our choosing; `--headless` is among the flags too.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    ignoreDefaultArgs: ['--enable-automation'],
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    timeout: 30_000,
  });
  // Generous for a loaded machine (jest runs files in parallel); a step that fails still fails, only later.
  context.setDefaultTimeout(20_000);
  context.setDefaultNavigationTimeout(30_000);
  const used = new WeakSet<Page>();
  return {
    context,
    async newPage(size = {}) {
      // The window the browser opened with, the first time; a new one after.
      const blank = context.pages().find((page) => page.url() === 'about:blank' && !used.has(page));
      const page = blank ?? (await context.newPage());
      used.add(page);
      if (size.width) await page.setViewportSize({ width: size.width, height: size.height ?? 844 });
      return page;
    },
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** What a page reported that a person would not see: console errors, uncaught exceptions and CSP violations. */
export function watchPageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return problems;
}

/** Where screenshots of a failing step go (git-ignored). */
export const FAILURE_SCREENSHOTS_DIR = path.resolve('test-results', 'browser');

/**
 * Runs one step of a story; when it fails, saves a screenshot of every open page to `test-results/browser/` and
 * rethrows, naming where the pictures are.
 */
export async function step<T>(browser: TestBrowser, name: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    fs.mkdirSync(FAILURE_SCREENSHOTS_DIR, { recursive: true });
    const slug = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 60);
    const saved: string[] = [];
    for (const [index, page] of browser.context.pages().entries()) {
      const file = path.join(FAILURE_SCREENSHOTS_DIR, `${Date.now()}-${slug}-${index}.png`);
      await page.screenshot({ path: file, timeout: 5000 }).then(
        () => saved.push(file),
        () => undefined,
      );
    }
    if (error instanceof Error) error.message += `\n(step "${name}"; screenshots: ${saved.join(', ') || 'none'})`;
    throw error;
  }
}
