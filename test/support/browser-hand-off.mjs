// A stand-in for a desktop browser, for BROWSER: `node browser-hand-off.mjs FILE URL` writes the URL it was handed
// to FILE (whole, in one rename), where a test picks it up and opens it in the Chromium it drives.
import fs from 'node:fs';

const [file, url] = process.argv.slice(2);
if (!file || !url) {
  console.error('usage: node browser-hand-off.mjs FILE URL');
  process.exit(2);
}
fs.writeFileSync(`${file}.partial`, url);
fs.renameSync(`${file}.partial`, file);
