import express, { type ErrorRequestHandler } from 'express';
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { echoNote, listen, meBody, NOTES_PAGE } from './common.js';

/** The library alone: Express 5 + `auth()` + `requiredScopes()`, the same bodies, nothing else. */
const issuerBaseURL = process.env.ISSUER_BASE_URL;
const audience = process.env.AUDIENCE;
if (!issuerBaseURL || !audience) throw new Error('ISSUER_BASE_URL and AUDIENCE are required');

const app = express();
app.use(auth({ issuerBaseURL, audience }));
app.get('/v1/me', requiredScopes('read:notes'), (req, res) => {
  res.json(meBody(req.auth!.payload));
});
app.get('/v1/notes', requiredScopes('read:notes'), (_req, res) => {
  res.json(NOTES_PAGE);
});
app.post('/v1/notes', requiredScopes('write:notes'), express.json(), (req, res) => {
  res.status(201).json(echoNote(req.body));
});
// The smallest error handler: the library's status and challenge. Express's default one would print
// every 401's stack to stderr, which no deployment of the library would keep.
const onError: ErrorRequestHandler = (error: { status?: number; headers?: Record<string, string> }, _req, res, _next) => {
  res.status(error.status ?? 500).set(error.headers ?? {}).json({ error: res.statusCode === 401 ? 'invalid_token' : 'error' });
};
app.use(onError);
listen(app);
