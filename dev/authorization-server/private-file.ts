import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes a file only its owner can read (0600), in a folder only its owner can enter (0700) when this creates it.
 * The content goes to a temporary file first and is renamed over the old one, so a reader never sees half a file.
 */
export function writePrivateFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, content, { mode: 0o600, flag: 'w' });
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, file);
}
