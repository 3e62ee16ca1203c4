/**
 * `npm run db:copy -- --from data/notes.db --to postgres://USER:PASSWORD@HOST:5432/DB`: copies a SQLite database's
 * notes into PostgreSQL (see copyNotes). Exit status: 0 copied (or nothing left to copy), 1 failed, 2 bad arguments.
 */
import { parseArgs } from 'node:util';
import { CopyError, copyNotes } from './copy-notes.js';

const USAGE = 'Usage: npm run db:copy -- --from <SQLite file> --to postgres://USER:PASSWORD@HOST:5432/DATABASE';

function argumentsOrExit(): { from: string; to: string } {
  let values: { from?: string; to?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!values.from || !values.to) {
    console.error(`${!values.from ? '--from' : '--to'} is missing.\n${USAGE}`);
    process.exit(2);
  }
  return { from: values.from, to: values.to };
}

const { from, to } = argumentsOrExit();
try {
  const result = await copyNotes({ from, to });
  console.log(`Copied ${result.copied} ${result.copied === 1 ? 'note' : 'notes'} from ${from} to ${result.to} (${result.alreadyThere} already there).`);
} catch (error) {
  console.error(error instanceof CopyError ? error.message : `Copy failed, nothing was copied: ${(error as Error).message}`);
  process.exit(1);
}
