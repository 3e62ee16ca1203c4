/**
 * Installs Debian packages a test set-up needs (Chromium, PgBouncer, HAProxy) when they are missing and this process
 * may (root with apt-get: a CI container, this project's machines), once, whatever the number of test files asking at
 * the same time: one holds a lock file while it installs, the others wait for it to go. Elsewhere the caller fails
 * with the command to run. Never a skip: a test that cannot run is a failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const INSTALL_TIMEOUT_MS = 10 * 60_000;

/** The command that installs `packages` (for messages and for running it). */
export const aptInstallCommand = (packages: readonly string[]) => `apt-get update && apt-get install -y ${packages.join(' ')}`;

/** Whether this process may install packages itself: root, with apt-get. */
export const canInstallWithApt = () => process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `apt-get install -y PACKAGES` unless `installed()` already holds or another process is at it (then waits for
 * that one to finish). `why` says in the warning line what needs them.
 */
export function installWithApt(options: { packages: readonly string[]; installed: () => boolean; why: string }): void {
  const { packages, installed, why } = options;
  const lockFile = path.join(os.tmpdir(), `notes-api-apt-install-${packages.join('-')}.lock`);
  const command = aptInstallCommand(packages);
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  for (;;) {
    let lock: number | undefined;
    try {
      lock = fs.openSync(lockFile, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than an install may take was left by a process that died: take it over.
      const age = Date.now() - (fs.statSync(lockFile, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > INSTALL_TIMEOUT_MS) fs.rmSync(lockFile, { force: true });
      if (Date.now() > deadline) throw new Error(`waited ${INSTALL_TIMEOUT_MS / 60_000} min for another process to install ${packages.join(', ')} (${lockFile})`, { cause: error });
      sleepSync(500);
      if (installed()) return;
      continue;
    }
    try {
      if (installed()) return;
      console.warn(`${why}: installing Debian's ${packages.join(', ')} (${command})`);
      execFileSync('sh', ['-c', command], {
        stdio: ['ignore', 'inherit', 'inherit'],
        timeout: INSTALL_TIMEOUT_MS,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      return;
    } finally {
      fs.closeSync(lock);
      fs.rmSync(lockFile, { force: true });
    }
  }
}
