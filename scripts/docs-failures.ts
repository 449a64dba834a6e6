/**
 * npm run docs:failures [-- --check]
 *
 * Rewrites the generated classification table of docs/failures.md from shared/error-classes.ts.
 * `--check` only compares and fails when it is out of date (test/unit/errors-doc.test.ts does the same).
 */
import fs from 'node:fs';
import path from 'node:path';
import { withGeneratedSection } from '../shared/error-classes';

const file = path.resolve(__dirname, '..', 'docs', 'failures.md');
const current = fs.readFileSync(file, 'utf8');
const next = withGeneratedSection(current);
if (process.argv.includes('--check')) {
  if (current !== next) {
    console.error('docs/failures.md is out of date: run `npm run docs:failures`');
    process.exit(1);
  }
} else if (current !== next) {
  fs.writeFileSync(file, next);
  console.log('docs/failures.md: classification table rewritten');
}
