/**
 * The browser the browser tests and `npm run screenshots` drive: Debian's Chromium (or `CHROMIUM_PATH`, or an
 * installed Chrome) through playwright-core, headless, with a fresh profile per launch. When no browser is found and
 * the process runs as root with apt-get (a CI container, this project's machines), Debian's `chromium` is installed
 * once, whatever the number of test files asking at the same time (`npm test`'s preflight asks first); elsewhere the
 * set-up fails, pointing at the preflight's commands. Never a skip: a browser test that cannot run is a failure.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { aptInstallCommand, canInstallWithApt, installWithApt } from './apt-install.js';
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
const INSTALL_COMMAND = aptInstallCommand(['chromium']);

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
export const canInstallChromium = canInstallWithApt;

/**
 * The browser's executable: found, or installed when this process may (root with apt-get), or an error that says
 * where to find how to install one.
 */
export function chromiumExecutable(): string {
  const found = findChromium();
  if (found) return found;
  if (canInstallChromium()) {
    installWithApt({ packages: ['chromium'], installed: () => findChromium() !== undefined, why: 'No Chromium or Chrome found for the browser tests' });
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
