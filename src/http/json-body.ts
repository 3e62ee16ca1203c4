import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';
import { NOT_UNICODE_DETAIL, UnsupportedMediaTypeError, ValidationError, type FieldError } from '../errors.js';

export const JSON_BODY_LIMIT_BYTES = 16 * 1024;
export const JSON_MEDIA_TYPES = ['application/json', 'application/merge-patch+json'] as const;

/**
 * Refuses a UTF-8 body whose bytes are not UTF-8. The parser would decode each bad sequence to U+FFFD, and the note
 * would be stored with text its client never sent. What it throws is the answer (the parser keeps an error's status).
 */
function refuseInvalidUtf8(_req: unknown, _res: unknown, body: Buffer, encoding: string | null): void {
  if (encoding === 'utf-8' && !isUtf8(body)) throw new ValidationError(fieldsNotUtf8(body));
}

/**
 * Which top-level fields hold the bytes that are not UTF-8, to name them as a schema error would. Read as Latin-1 each
 * byte stays one character, so a string's own bytes can be tested; escape sequences are blanked first, as their text
 * is ASCII whatever character they stand for. When no field can be named (a bad byte in a name, not JSON at all), the
 * pointer is the whole body.
 */
function fieldsNotUtf8(body: Buffer): FieldError[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('latin1').replace(/\\(?:u[0-9A-Fa-f]{4}|.)/g, '_'));
  } catch {
    parsed = undefined;
  }
  const pointers: string[] = [];
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value === 'string' && !isUtf8(Buffer.from(value, 'latin1'))) pointers.push(`#/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    }
  }
  return (pointers.length > 0 ? pointers : ['#']).map((pointer) => ({ pointer, detail: NOT_UNICODE_DETAIL }));
}

const parse = express.json({ limit: JSON_BODY_LIMIT_BYTES, strict: false, type: [...JSON_MEDIA_TYPES], verify: refuseInvalidUtf8 });

/**
 * Parses a JSON request body of at most 16 KiB; any other media type is 415.
 * It runs after authentication, so an anonymous client cannot make the API read a body.
 */
export const jsonBody: RequestHandler = (req, res, next) => {
  if (!req.is([...JSON_MEDIA_TYPES])) throw new UnsupportedMediaTypeError(JSON_MEDIA_TYPES);
  parse(req, res, next);
};
