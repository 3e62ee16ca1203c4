import { NOTE_BODY, NOTE_TITLE, PAGE_SIZE } from './servers/common.js';

/**
 * Gives the user of `token` the bench's page for `GET /v1/notes` on the API at `url`: PAGE_SIZE notes, posted one
 * after the other (`npm run bench` and `npm run bench:tracing` both read this page).
 */
export async function seedNotesPage(url: string, token: string): Promise<void> {
  for (let i = 1; i <= PAGE_SIZE; i++) {
    const created = await fetch(`${url}/v1/notes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: `${NOTE_TITLE} ${i}`, body: NOTE_BODY }),
      signal: AbortSignal.timeout(10_000),
    });
    if (created.status !== 201) throw new Error(`seeding note ${i} at ${url}: ${created.status} ${await created.text()}`);
  }
}
