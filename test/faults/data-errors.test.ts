import { PEC_TABLES } from '../../shared/tables/pec-tables';
import type { TestDatabase } from '../support/pg';
import { FaultLab, ledgerRow, logLines, REQUEST, seedSource } from './support/harness';

/**
 * A deterministic data error: the source holds a value the warehouse column type cannot hold (a PEC
 * version widened a column; the registry still says INTEGER). The error is the warehouse's own — a
 * real DuckDB conversion error while loading the staged file — not one the test makes up. Retrying
 * cannot help (the same file fails every time), so the load must be terminal: class `data`,
 * dead-lettered after ONE delivery, nothing of the load half-visible.
 */
const CAMPINAS = { ibge: '3509502', name: 'Campinas', uf: 'SP' as const };

describe('a value the warehouse type cannot hold', () => {
  const lab = new FaultLab();
  let db: TestDatabase;
  beforeAll(async () => {
    db = await seedSource('faults_data', 401, [CAMPINAS]);
    // st_faleceu is INTEGER in the registry; this source widened it and holds 2^40 in one row.
    await db.client.query('ALTER TABLE tb_fat_cidadao_pec ALTER COLUMN st_faleceu TYPE bigint');
    const res = await db.client.query(
      'UPDATE tb_fat_cidadao_pec SET st_faleceu = 1099511627776 WHERE co_seq_fat_cidadao_pec = (SELECT min(co_seq_fat_cidadao_pec) FROM tb_fat_cidadao_pec)',
    );
    expect(res.rowCount).toBe(1);
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('class data, terminal: the load is dead-lettered after one delivery and nothing of it lands', async () => {
    const p = await lab.pipeline([{ db, municipalities: [CAMPINAS] }], { timing: { loadTimeoutMs: 1_500 } });
    try {
      const run = await p.runOnce(REQUEST);
      await p.drain();
      expect(run.extracted).toEqual([CAMPINAS.ibge]); // the extraction itself is fine
      expect(p.deliveries.filter((d) => d.subscription === 'load').map((d) => d.attempt)).toEqual([1]);
      expect(p.bus.deadLetters.map((d) => [d.attributes.errorClass, d.attributes.sourceHandler])).toEqual([['data', 'load']]);
      expect(logLines(p).filter((l) => l.severity === 'ERROR' && l.errorClass === 'data')).toHaveLength(1);
      expect(await ledgerRow(p.warehouse, run.runId, CAMPINAS.ibge)).toMatchObject({ status: 'staged' });
      for (const t of PEC_TABLES) expect([t.name, Number((await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw."${t.name}"`))[0]!.n)]).toEqual([t.name, 0]);
    } finally {
      await p.dispose();
    }
  });
});
