import fs from 'node:fs';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { writePrivateFile } from './private-file.js';

interface Entry {
  payload: AdapterPayload;
  /** Epoch milliseconds; `null` never expires. */
  expiresAt: number | null;
}

/** Models kept across restarts, so that a refresh token outlives a restart of `npm start`. */
const DURABLE_MODELS = new Set(['Grant', 'RefreshToken']);
/** Models that belong to a grant and go when it is revoked (RFC 6749 §10.5, RFC 9700 §4.14.2). */
const GRANT_MEMBERS = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken']);

/**
 * oidc-provider's storage: everything in memory, grants and refresh tokens also saved to `file` (0600).
 * One process, a handful of users: lookups simply scan.
 *
 * @example
 * new Provider(issuer, { adapter: createDevStore('data/dev-issuer/grants.json'), … })
 */
export function createDevStore(file: string): (model: string) => Adapter {
  const entries = new Map<string, Entry>(loadDurable(file));
  const live = (entry: Entry | undefined) =>
    entry && (entry.expiresAt === null || entry.expiresAt > Date.now()) ? entry : undefined;
  const save = () => {
    const durable = [...entries].filter(([key, entry]) => DURABLE_MODELS.has(modelOf(key)) && live(entry));
    writePrivateFile(file, `${JSON.stringify(Object.fromEntries(durable))}\n`);
  };
  const changed = (key: string) => {
    if (DURABLE_MODELS.has(modelOf(key))) save();
  };

  return function devStoreAdapter(model: string): Adapter {
    const keyOf = (id: string) => `${model}:${id}`;
    const findWhere = (test: (payload: AdapterPayload) => boolean) =>
      [...entries].find(([key, entry]) => modelOf(key) === model && live(entry) && test(entry.payload))?.[1].payload;
    return {
      async upsert(id, payload, expiresIn) {
        for (const [key, entry] of entries) if (!live(entry)) entries.delete(key);
        entries.set(keyOf(id), { payload, expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : null });
        changed(keyOf(id));
      },
      async find(id) {
        return live(entries.get(keyOf(id)))?.payload;
      },
      async findByUid(uid) {
        return findWhere((payload) => payload.uid === uid);
      },
      async findByUserCode(userCode) {
        return findWhere((payload) => payload.userCode === userCode);
      },
      async consume(id) {
        const entry = entries.get(keyOf(id));
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
        changed(keyOf(id));
      },
      async destroy(id) {
        entries.delete(keyOf(id));
        changed(keyOf(id));
      },
      async revokeByGrantId(grantId) {
        for (const [key, entry] of entries) {
          if (GRANT_MEMBERS.has(modelOf(key)) && entry.payload.grantId === grantId) entries.delete(key);
        }
        save();
      },
    };
  };
}

const modelOf = (key: string) => key.slice(0, key.indexOf(':'));

function loadDurable(file: string): [string, Entry][] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    const saved = JSON.parse(text) as Record<string, Entry>;
    return Object.entries(saved).filter(
      ([key, entry]) => DURABLE_MODELS.has(modelOf(key)) && (entry.expiresAt === null || entry.expiresAt > Date.now()),
    );
  } catch {
    // A damaged file only costs the saved sessions: users sign in again.
    return [];
  }
}
