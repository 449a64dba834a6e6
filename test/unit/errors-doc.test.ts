import fs from 'node:fs';
import path from 'node:path';
import { BIGQUERY_REASONS, GENERATED_BEGIN, GENERATED_END, renderClassificationMarkdown, SQLSTATE_RULES, withGeneratedSection } from '../../shared/error-classes';

/** docs/failures.md shows the classification the code runs: the committed table equals the generated one. */
describe('docs/failures.md classification table', () => {
  const file = path.resolve(__dirname, '../../docs/failures.md');
  const doc = fs.readFileSync(file, 'utf8');

  it('the committed section equals the one rendered from shared/error-classes.ts (`npm run docs:failures` rewrites it)', () => {
    expect(doc.includes(GENERATED_BEGIN) && doc.includes(GENERATED_END)).toBe(true);
    const committed = doc.slice(doc.indexOf(GENERATED_BEGIN), doc.indexOf(GENERATED_END) + GENERATED_END.length);
    expect(committed).toBe(renderClassificationMarkdown());
    expect(withGeneratedSection(doc)).toBe(doc);
  });

  it('the rendered table has a line for every row, with its decision', () => {
    const md = renderClassificationMarkdown();
    for (const r of BIGQUERY_REASONS) expect(md).toMatch(new RegExp(`\\| BigQuery reason \`${r.reason}\` \\| [^|]+ \\| ${r.transient ? 'transient' : '\\*\\*terminal\\*\\*'} \\|`));
    for (const r of SQLSTATE_RULES) expect(md).toContain(r.name);
    expect(md).toMatch(/\| SQLSTATE `53xxx` [^|]+ \| `source_unreachable` \| transient \|/);
  });

  it('the SQLSTATE rows are kept in code order (the table is rendered in row order)', () => {
    const codes = SQLSTATE_RULES.map((r) => r.sqlstate);
    expect(codes).toEqual([...codes].sort((a, b) => a.localeCompare(b)));
  });

  it('no table cell holds a `|` or a line break (cells are written as they are)', () => {
    const rows = renderClassificationMarkdown()
      .split('\n')
      .filter((l) => l.startsWith('| '));
    expect(rows.length).toBeGreaterThan(80);
    for (const r of rows) expect(r.split(' | ')).toHaveLength(4);
  });

  it('a document without the section gets it appended; a stale one is replaced', () => {
    const md = renderClassificationMarkdown();
    for (const doc of ['# T', '# T\n', '# T\n\n\n']) expect(withGeneratedSection(doc)).toBe(`# T\n\n${md}\n`);
    expect(withGeneratedSection(`${GENERATED_BEGIN}\nold\n${GENERATED_END}\nb\n`)).toBe(`${md}\nb\n`);
    expect(withGeneratedSection(`a\n${GENERATED_END}\n${GENERATED_BEGIN}\n`)).toBe(`a\n${GENERATED_END}\n${GENERATED_BEGIN}\n\n${md}\n`);
    const stale = `a\n${GENERATED_BEGIN}\nold\n${GENERATED_END}\nb\n`;
    expect(withGeneratedSection(stale)).toBe(`a\n${renderClassificationMarkdown()}\nb\n`);
  });
});
