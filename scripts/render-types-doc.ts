import fs from 'node:fs';
import path from 'node:path';
import { renderTypesDoc } from './lib/types-doc';

/** Rewrites docs/types.md from the type contract (shared/contracts/tables.ts). */
const target = path.join(__dirname, '..', 'docs', 'types.md');
fs.writeFileSync(target, renderTypesDoc());
console.log(`wrote ${path.relative(process.cwd(), target)}`);
