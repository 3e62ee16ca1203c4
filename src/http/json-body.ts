import express, { type RequestHandler } from 'express';
import { UnsupportedMediaTypeError } from '../errors.js';

export const JSON_BODY_LIMIT_BYTES = 16 * 1024;
export const JSON_MEDIA_TYPES = ['application/json', 'application/merge-patch+json'] as const;

const parse = express.json({ limit: JSON_BODY_LIMIT_BYTES, strict: false, type: [...JSON_MEDIA_TYPES] });

/**
 * Parses a JSON request body of at most 16 KiB; any other media type is 415.
 * It runs after authentication, so an anonymous client cannot make the API read a body.
 */
export const jsonBody: RequestHandler = (req, res, next) => {
  if (!req.is([...JSON_MEDIA_TYPES])) throw new UnsupportedMediaTypeError(JSON_MEDIA_TYPES);
  parse(req, res, next);
};
