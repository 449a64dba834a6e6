/**
 * npm run docs:generate [-- --check]
 *
 * Rewrites the documentation tables that restate code (environment variables per function, the run
 * ledger's columns, the commands' flags) from their single definitions; see scripts/lib/docs.ts.
 * `--check` only compares and exits 1 when a page is out of date (a unit test does the same).
 */
import fs from 'node:fs';
import path from 'node:path';
import { EXIT, runCommand } from './lib/cli';
import { DOCS_GENERATE } from './lib/commands';
import { generatedPages } from './lib/docs';

runCommand(DOCS_GENERATE, async (args) => {
  const root = path.resolve(__dirname, '..');
  const stale = generatedPages(root).filter((p) => p.current !== p.expected);
  for (const page of stale) {
    if (args.check) console.error(`${page.file} is out of date: run \`npm run docs:generate\``);
    else {
      fs.writeFileSync(path.join(root, page.file), page.expected);
      console.log(`wrote ${page.file}`);
    }
  }
  if (args.check && stale.length) return EXIT.failed;
  if (!stale.length) console.log('generated documentation is up to date');
  return EXIT.ok;
});
