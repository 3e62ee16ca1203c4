import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process the bench started; its stdout and stderr go to files in the bench's temporary folder. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly stdoutFile: string;
  readonly stderrFile: string;
  readonly process: ChildProcess;
}

const running = new Set<Child>();

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Folder for the child's stdout/stderr files. */
  logDir: string;
  /** Printed on stdout once the child is ready; its first capture group is returned. */
  ready: RegExp;
  timeoutMs: number;
}

/**
 * Up to `bytes` of a file from its start (`from: 'start'`) or its end: a server's log grows by a line per request,
 * past what one string can hold (512 MiB) in a bench of the faster servers, and what is wanted is at one end.
 */
export function readPart(file: string, from: 'start' | 'end', bytes = 64 * 1024): string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(bytes, size);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, from === 'start' ? 0 : size - length);
    return buffer.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Starts a process with stdout and stderr written straight to files (so the load generator never drains them),
 * and waits, bounded, until stdout shows `ready`.
 */
export async function spawnChild(options: SpawnOptions): Promise<{ child: Child; ready: string }> {
  const stdoutFile = path.join(options.logDir, `${options.name}.stdout.log`);
  const stderrFile = path.join(options.logDir, `${options.name}.stderr.log`);
  const out = fs.openSync(stdoutFile, 'w');
  const err = fs.openSync(stderrFile, 'w');
  const proc = spawn(options.command, options.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', out, err] });
  fs.closeSync(out);
  fs.closeSync(err);
  if (proc.pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
  const child: Child = { name: options.name, pid: proc.pid, stdoutFile, stderrFile, process: proc };
  running.add(child);
  proc.once('exit', () => running.delete(child));

  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    const match = options.ready.exec(readPart(stdoutFile, 'start'));
    if (match) return { child, ready: match[1] ?? match[0] };
    if (proc.exitCode !== null || proc.signalCode !== null) break;
    await sleep(50);
  }
  const tail = (file: string) => readPart(file, 'end', 2000);
  await stopChild(child);
  throw new Error(`${options.name} did not become ready within ${options.timeoutMs} ms.\nstdout: ${tail(stdoutFile)}\nstderr: ${tail(stderrFile)}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited (bounded). */
export async function stopChild(child: Child, graceMs = 3000): Promise<void> {
  const { process: proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  signal(child.pid, 'SIGTERM');
  const clean = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!clean) {
    signal(child.pid, 'SIGKILL');
    await Promise.race([exited, sleep(2000)]);
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stopChild(child)));
}

/** Last resort on `exit`, where nothing asynchronous runs: SIGKILL whatever is left, by PID. */
export function killAllNow(): void {
  for (const child of running) signal(child.pid, 'SIGKILL');
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

export interface Memory {
  /** Resident set size now, in bytes. */
  rss: number;
  /** Peak resident set size since the process started (VmHWM), in bytes. */
  peak: number;
}

/** Reads a process's memory from /proc (Linux). */
export function memoryOf(pid: number): Memory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** A process's or thread's CPU time (utime + stime) from its /proc stat file, in clock ticks; NaN if unreadable. */
function cpuTicks(statFile: string): number {
  try {
    // Fields after the command name: state is the 3rd, utime the 14th and stime the 15th of the whole line.
    const stat = fs.readFileSync(statFile, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return NaN;
  }
}

/**
 * CPU time of a process's event-loop thread (its main thread, whose thread id is the process id), in microseconds:
 * a Node server saturates that one thread first, so its CPU per request says what the server costs, less disturbed
 * than req/s by the load generator and the server's own helper threads sharing the cores. NaN if unreadable.
 */
export function eventLoopCpuMicros(pid: number): number {
  // Clock ticks are 1/100 s (USER_HZ, which Linux fixes at 100 for /proc).
  return cpuTicks(`/proc/${pid}/task/${pid}/stat`) * 10_000;
}

/** CPU time in clock ticks: the whole machine's (busy and in all), and that of this process and its running children. */
export interface CpuSnapshot {
  total: number;
  busy: number;
  ours: number;
}

export function cpuSnapshot(): CpuSnapshot {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  return {
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    busy: user + nice + system + irq + softirq + steal,
    // A process that has just exited counts as none.
    ours: [process.pid, ...[...running].map((child) => child.pid)].reduce((sum, pid) => sum + (cpuTicks(`/proc/${pid}/stat`) || 0), 0),
  };
}

/** Cores' worth of CPU used by processes other than the bench's between two snapshots. */
export function othersCores(before: CpuSnapshot, after: CpuSnapshot, cores: number): number {
  const total = after.total - before.total;
  if (total <= 0) return 0;
  return Math.max(0, (after.busy - before.busy - (after.ours - before.ours)) / total) * cores;
}
