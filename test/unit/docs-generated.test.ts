import path from 'node:path';
import { ENV, type EnvKey } from '../../shared/contracts/config';
import { FUNCTIONS } from '../../shared/contracts/functions';
import { LEDGER_TABLES } from '../../shared/ledger/schema';
import { applyBlock, envDefault, generatedPages, renderEnvTable, renderLedgerTables } from '../../scripts/lib/docs';

const root = path.resolve(__dirname, '../..');

describe('documentation tables generated from the code (npm run docs:generate)', () => {
  it.each(generatedPages(root).map((p) => [p.file, p]))('%s says what the code says', (_file, page) => {
    expect(page.current).toBe(page.expected);
  });

  it('the env table names every variable a function reads, with the schema default', () => {
    const table = renderEnvTable();
    for (const f of Object.values(FUNCTIONS)) for (const k of f.env as readonly EnvKey[]) expect(table).toContain(`\`${ENV[k]}\``);
    expect(envDefault('lookbackDays')).toBe('`35`');
    expect(envDefault('stagingBucket')).toBe('(required)');
    expect(envDefault('topicPrefix')).toBe('`""`');
  });

  it('the ledger tables list every column of shared/ledger/schema.ts', () => {
    const text = renderLedgerTables();
    for (const t of LEDGER_TABLES) for (const c of t.columns) expect(text).toContain(`| \`${c.name}\` |`);
  });

  it('a page without its markers is an error naming the file and the block', () => {
    expect(() => applyBlock('no markers', { file: 'x.md', id: 'env', render: () => '' })).toThrow(/x\.md: markers for "env"/);
  });
});
