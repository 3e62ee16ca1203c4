// Runs before `npm start`: compiles to dist/ when dist/ is missing or older than the sources,
// so `npm install && npm start` works on a fresh clone and never runs stale code. `--always` (npm run build)
// compiles whatever the stamp says and writes the stamp too, so the `npm start`s after it do not compile again.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const stamp = 'dist/.build-stamp';
const inputs = ['src', 'dev', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

function newest(entry) {
  if (!fs.existsSync(entry)) return 0;
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...fs.readdirSync(entry).map((name) => newest(path.join(entry, name))));
}

const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
if (process.argv.includes('--always') || built < Math.max(...inputs.map(newest))) {
  console.error('Compiling to dist/ …');
  fs.rmSync('dist', { recursive: true, force: true });
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  fs.writeFileSync(stamp, new Date().toISOString() + '\n');
}
