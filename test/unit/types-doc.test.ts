import fs from 'node:fs';
import path from 'node:path';
import { renderTypesDoc } from '../../scripts/lib/types-doc';
import { COLUMN_TYPES } from '../../shared/contracts/tables';

describe('docs/types.md', () => {
  it('is the rendering of the type contract in code (regenerate: npx tsx scripts/render-types-doc.ts)', () => {
    const committed = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'types.md'), 'utf8');
    expect(committed).toBe(renderTypesDoc());
  });
  it('has a row for every registry type', () => {
    const doc = renderTypesDoc();
    for (const [name, t] of Object.entries(COLUMN_TYPES)) expect(doc).toContain(`| \`${name}\` | \`${t.postgres}\` |`);
  });
});
