/**
 * Rotates the development authorization server's signing keys:
 *   tsx dev/authorization-server/rotate-keys.ts [dataDir]   (default data/dev-issuer)
 * A new key signs from the next start of the server; the previous one stays published so the tokens it signed
 * verify until they expire (10 minutes); any older key is removed.
 */
import path from 'node:path';
import { JWKS_FILE, rotateSigningKeys } from './keys.js';

const dataDir = process.argv[2] ?? path.join('data', 'dev-issuer');
try {
  const { current, previous } = await rotateSigningKeys(dataDir);
  console.log(`New signing key ${current} saved first in ${path.join(dataDir, JWKS_FILE)}.`);
  if (previous) console.log(`The previous key ${previous} stays published for the tokens it signed; older keys were removed.`);
  console.log('Restart the server (npm start) to sign with the new key.');
} catch (error) {
  console.error(`rotate-keys: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
