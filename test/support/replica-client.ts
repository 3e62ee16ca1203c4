import http from 'node:http';

/** What a client sees of one response from a replica. */
export interface Answer {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined when there is none. */
  body: Record<string, unknown> | undefined;
}

export interface Call {
  method?: string;
  /** A bearer token (`Authorization: Bearer …`), unless `headers` sets Authorization itself. */
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * One HTTP request to a replica, bounded to 10 s: replicas are separate processes, so tests talk to them as a client
 * does, over real connections. Through node:http, not fetch, because fetch will not send a `Host` of our choosing, and
 * a load balancer passes the public one on to every replica.
 */
export function send(baseUrl: string, path: string, call: Call = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(call.token ? { authorization: `Bearer ${call.token}` } : {}), ...call.headers };
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(`${baseUrl}${path}`, { method: call.method ?? 'GET', headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const answerHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) answerHeaders.append(name, one);
        }
        try {
          resolve({ status: res.statusCode!, headers: answerHeaders, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined });
        } catch {
          reject(new Error(`${call.method ?? 'GET'} ${baseUrl}${path}: ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${call.method ?? 'GET'} ${baseUrl}${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Every note of the token's user, read page by page (100 a page) through one replica. */
export async function listAll(baseUrl: string, token: string): Promise<Record<string, unknown>[]> {
  const notes: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const page = await send(baseUrl, `/v1/notes?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
    if (page.status !== 200) throw new Error(`GET /v1/notes through ${baseUrl}: ${page.status} ${JSON.stringify(page.body)}`);
    notes.push(...(page.body!.items as Record<string, unknown>[]));
    cursor = page.body!.next_cursor as string | null;
  } while (cursor);
  return notes;
}

/** A write the API acknowledged (201), with where it went and the token (user) that made it. */
export interface AcknowledgedWrite {
  id: string;
  title: string;
  at: number;
  via: string;
  token: string;
}

/**
 * Keeps one loop per token writing notes through `targets` (round robin) until `stop()`; records each acknowledged
 * write (201) with the id it was given, and every other outcome by status or error code. A write whose response
 * never arrived (the replica died) was not acknowledged, so it is not counted as one. One user per loop keeps each
 * user's request rate well inside its rate limit.
 */
export function writeContinuously(targets: () => readonly string[], tokens: readonly string[]) {
  const workers = tokens.length;
  const acknowledged: AcknowledgedWrite[] = [];
  const outcomes: Record<string, number> = {};
  const refusals: (Answer & { via: string })[] = [];
  let running = true;
  let sequence = 0;
  const loop = async (worker: number) => {
    for (let turn = 0; running; turn++) {
      const list = targets();
      const via = list[(worker + turn) % list.length]!;
      const title = `load ${worker}-${sequence++}`;
      try {
        const token = tokens[worker]!;
        const answer = await send(via, '/v1/notes', { method: 'POST', token, body: { title, body: 'written under load' } });
        outcomes[answer.status] = (outcomes[answer.status] ?? 0) + 1;
        if (answer.status === 201) acknowledged.push({ id: String(answer.body!.id), title, at: Date.now(), via, token });
        else {
          refusals.push({ ...answer, via });
          // An outage is answered at once; do not spin on it.
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        outcomes[code] = (outcomes[code] ?? 0) + 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const done = Promise.all(Array.from({ length: workers }, (_, worker) => loop(worker)));
  return {
    acknowledged,
    outcomes,
    refusals,
    async stop() {
      running = false;
      await done;
    },
  };
}

/** Waits until `condition()` holds, checking every 20 ms; false if it did not within `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; !condition(); await new Promise((resolve) => setTimeout(resolve, 20))) {
    if (Date.now() > deadline) return false;
  }
  return true;
}
