import { z } from 'zod';
import { NOT_UNICODE_DETAIL, ValidationError, type FieldError } from '../errors.js';

declare global {
  interface String {
    /** ES2024 (Node 20): false when the string holds a lone surrogate, which no UTF-8 store can keep. */
    isWellFormed(): boolean;
  }
}

/** Control characters (Unicode Cc: C0, DEL, C1) other than tab, line feed and carriage return. */
const CONTROL_CHARACTER = /[^\P{Cc}\t\n\r]/u;

/**
 * Text stored exactly as sent: well-formed Unicode only, since a lone surrogate would be stored as U+FFFD and read back
 * altered. A length in characters (Unicode code points), not UTF-16 units, as a person would count them.
 */
const text = (min: number, max: number) =>
  z
    .string({ message: 'must be a string' })
    .refine((value) => value.isWellFormed(), { message: NOT_UNICODE_DETAIL, abort: true })
    .refine((value) => {
      const length = [...value].length;
      return length >= min && length <= max;
    }, min > 0 ? `must be ${min} to ${max} characters` : `must be at most ${max} characters`);

const title = text(1, 200)
  .refine((value) => value.trim() !== '', 'must not be blank')
  .refine((value) => !CONTROL_CHARACTER.test(value), 'must not contain control characters other than tab, line feed and carriage return');
const body = text(0, 10_000);

export const noteCreateSchema = z.strictObject({ title, body: body.default('') });
export const notePatchSchema = z
  .strictObject({ title: title.optional(), body: body.optional() })
  .refine((patch) => patch.title !== undefined || patch.body !== undefined, 'must change title or body');

export type NoteCreate = z.output<typeof noteCreateSchema>;
export type NotePatch = z.output<typeof notePatchSchema>;

const limit = z
  .string({ message: 'must be given once' })
  .regex(/^\d{1,3}$/, 'must be a whole number from 1 to 100')
  .transform(Number)
  .refine((value) => value >= 1 && value <= 100, 'must be a whole number from 1 to 100');

export const listQuerySchema = z.object({
  limit: limit.optional().default(20),
  cursor: z.string({ message: 'must be given once' }).min(1, 'must not be empty').max(200, 'is not a cursor from this API').optional(),
});
export type ListQuery = z.output<typeof listQuerySchema>;

/** Validates a request part; every bad field is reported, each with where it is. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(result.error.issues.flatMap((issue) => toFieldErrors(issue, where)));
}

function toFieldErrors(issue: z.core.$ZodIssue, where: 'body' | 'query'): FieldError[] {
  const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
  const detail = issue.code === 'unrecognized_keys' ? 'is not a field of this resource' : issue.message;
  return keys.map((path) =>
    where === 'query'
      ? { parameter: String(path[0] ?? ''), detail }
      : { pointer: `#${path.map((segment) => `/${String(segment).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('')}`, detail },
  );
}
