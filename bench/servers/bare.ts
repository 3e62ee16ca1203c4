import express from 'express';
import { echoNote, listen, meBody, NOTES_PAGE, STATIC_CLAIMS } from './common.js';

/** The ceiling: Express 5 answering the API's routes with the same bodies, no authentication, nothing else. */
const app = express();
app.get('/v1/me', (_req, res) => {
  res.json(meBody(STATIC_CLAIMS));
});
app.get('/v1/notes', (_req, res) => {
  res.json(NOTES_PAGE);
});
app.post('/v1/notes', express.json(), (req, res) => {
  res.status(201).json(echoNote(req.body));
});
listen(app);
