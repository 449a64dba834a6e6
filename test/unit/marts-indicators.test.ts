import fs from 'node:fs';
import path from 'node:path';
import { INDICATORS, MAX_GOOD_PRACTICES } from '../../shared/marts/indicators';
import { MARTS, bigQueryRefreshScript, compactSql } from '../../shared/marts/marts';
import { sqlLiteral } from '../../shared/marts/sql-dialect';

/** The indicator definitions are complete and documented; the SQL sent to BigQuery keeps no comment. */
describe('indicator definitions', () => {
  const docs = path.join(__dirname, '../../docs/indicators');

  it.each(INDICATORS.map((i) => [i.id, i] as const))('%s: documented in docs/indicators/<doc> under its id, practices numbered 1..n', (id, i) => {
    expect(fs.readFileSync(path.join(docs, i.doc), 'utf8')).toContain(`\`${id}\``);
    expect(i.goodPractices.map((g) => g.n)).toEqual(Array.from({ length: i.goodPractices.length }, (_, k) => k + 1));
    expect(i.goodPractices.length).toBeLessThanOrEqual(MAX_GOOD_PRACTICES);
    expect(() => sqlLiteral(id)).not.toThrow();
  });

  it('scored indicators weigh their practices to 100; the others have no score at all', () => {
    for (const i of INDICATORS) {
      const scores = i.goodPractices.map((g) => g.score);
      if (scores.every((s) => s === null)) continue;
      expect({ id: i.id, total: scores.reduce<number>((a, s) => a + (s ?? NaN), 0) }).toEqual({ id: i.id, total: 100 });
    }
  });

  it('ids are unique, and every page of docs/indicators is linked from common.md', () => {
    expect(new Set(INDICATORS.map((i) => i.id)).size).toBe(INDICATORS.length);
    const common = fs.readFileSync(path.join(docs, 'common.md'), 'utf8');
    for (const page of fs.readdirSync(docs).filter((f) => f !== 'common.md')) expect(common).toContain(`(${page})`);
  });

  it('compactSql drops comments and blank runs, nothing else; no BigQuery script keeps a comment', () => {
    expect(compactSql("SELECT 'a -' AS x, -- why\n  1   AS  y\n-- line\nFROM t")).toBe("SELECT 'a -' AS x, 1 AS y FROM t");
    for (const m of MARTS) expect({ mart: m.name, comment: bigQueryRefreshScript(m).includes('--') }).toEqual({ mart: m.name, comment: false });
  });
});
