import autocannon from 'autocannon';
import { eventLoopCpuMicros } from './procs.js';

/** Connections per server: four or five servers loaded at once share the two cores. */
export const SIDE_BY_SIDE_CONNECTIONS = 5;

/** A server under load: where it listens, and its process (whose event-loop thread's CPU is read). */
export interface LoadedServer {
  url: string;
  pid: number;
}

export interface SideBySideOptions {
  /** The route every server is loaded on (`/v1/me`). */
  path: string;
  /** The bearer token sent with every request. */
  token: string;
  rounds: number;
  seconds: number;
}

/**
 * Loads every server at the same time, each with an autocannon of its own (SIDE_BY_SIDE_CONNECTIONS), for `rounds`
 * rounds of `seconds`, and returns each server's event-loop CPU per request in each round (µs), in the order given.
 * A slow spell of a shared machine then hits every server of a round at once: their ratio in a round is the cost of
 * what differs between them, to within 2–3 % (docs/performance.md), where one server at a time swings by more than
 * that for identical code.
 * Req/s is not comparable this way (the servers share the cores), so the CPU a request costs is what is compared.
 *
 * Fails on any response that is not 2xx, or any error: a figure of failed requests measures nothing.
 */
export async function cpuSideBySide(servers: readonly LoadedServer[], options: SideBySideOptions): Promise<number[][]> {
  const perServer = servers.map(() => [] as number[]);
  for (let round = 0; round < options.rounds; round++) {
    const cpu = await Promise.all(servers.map((server) => cpuPerRequest(server, options)));
    cpu.forEach((value, i) => perServer[i]!.push(value));
  }
  return perServer;
}

async function cpuPerRequest(server: LoadedServer, options: SideBySideOptions): Promise<number> {
  const before = eventLoopCpuMicros(server.pid);
  const result = await autocannon({
    url: `${server.url}${options.path}`,
    connections: SIDE_BY_SIDE_CONNECTIONS,
    duration: options.seconds,
    headers: { authorization: `Bearer ${options.token}` },
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${server.url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return (eventLoopCpuMicros(server.pid) - before) / result.requests.total;
}
