import { Writable } from 'node:stream';

/** One JSON log line as pino writes it. */
export type LogLine = Record<string, unknown> & { msg: string; level: number };

/** The lines of a JSON-lines log, parsed. */
export function parseLogLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
}

/** A stream to give a real logger, keeping everything written to it (for tests to read). */
export function captureLog(): { stream: Writable; text(): string } {
  let written = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  return { stream, text: () => written };
}
