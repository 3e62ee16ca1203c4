import { ValidationError } from '../errors.js';

/** Pagination cursors are opaque to clients: the position of the last note seen, base64url-encoded. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`n${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const match = /^n([1-9]\d{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  const seq = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(seq)) {
    throw new ValidationError([{ parameter: 'cursor', detail: 'is not a cursor from this API' }]);
  }
  return seq;
}
