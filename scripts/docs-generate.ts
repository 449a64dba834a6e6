/**
 * npm run docs:generate [-- --check]
 *
 * Rewrites the documentation tables that restate code (environment variables per function, the run
 * ledger's columns) from their single definitions; see scripts/lib/docs.ts. `--check` only compares
 * and exits 1 when a page is out of date (a unit test does the same).
 */
import fs from 'node:fs';
import path from 'node:path';
import { generatedPages } from './lib/docs';

const root = path.resolve(__dirname, '..');
const check = process.argv.includes('--check');
let stale = 0;
for (const page of generatedPages(root)) {
  if (page.current === page.expected) continue;
  stale++;
  if (check) console.error(`${page.file} is out of date: run \`npm run docs:generate\``);
  else {
    fs.writeFileSync(path.join(root, page.file), page.expected);
    console.log(`wrote ${page.file}`);
  }
}
if (check && stale) process.exitCode = 1;
else console.log(stale && !check ? `${stale} page(s) regenerated` : 'generated documentation is up to date');
