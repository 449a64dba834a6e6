import { seedPec } from '../../scripts/synthetic-pec/generate';
import type { RunEvent, SliceOutcome } from '../../shared/ports';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { testPipeline } from '../support/local-pipeline';

/**
 * Issue 10's bad morning, the load part, end to end on the local pipeline: one in-window value of
 * one municipality that the warehouse type cannot hold ('NaN' in a numeric column: PostgreSQL
 * accepts it, the warehouse's DECIMAL does not). That slice fails, terminally and by name; every
 * other slice of every municipality lands in the same load; no retry; no row content in any log.
 */
const A = { ibge: '4106902', name: 'Curitiba', uf: 'PR' };
const B = { ibge: '4119905', name: 'Ponta Grossa', uf: 'PR' };
const FACT = 'tb_fat_atendimento_individual';

describe('one unloadable value in one municipality', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('pec_bad_value', (c) =>
      seedPec(c, { seed: 7, municipalities: [A, B], citizens: 60, months: 2, endDate: '2026-11-20', dwProcessedAt: new Date(Date.now() - 3_600_000) }).then(() => {}),
    );
    const r = await db.client.query(
      `UPDATE tb_fat_atendimento_individual SET nu_pressao_sistolica = 'NaN' WHERE co_seq_fat_atd_ind = (
         SELECT max(co_seq_fat_atd_ind) FROM tb_fat_atendimento_individual
         WHERE co_dim_municipio IN (SELECT co_seq_dim_municipio FROM tb_dim_municipio WHERE co_ibge = $1) AND co_dim_tempo >= 20261101)`,
      [A.ibge],
    );
    expect(r.rowCount).toBe(1);
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('fails only that slice (data, named, terminal); everything else loads in the same load', async () => {
    const p = await testPipeline([{ db, municipalities: [A, B] }]);
    try {
      const run = await p.runOnce({ runDate: '2026-11-21' });
      expect(run.extracted.sort()).toEqual([A.ibge, B.ibge]);
      const finished = p.events.filter((e): e is Extract<RunEvent, { kind: 'load_finished' }> => e.kind === 'load_finished');
      expect(finished).toHaveLength(1);
      const outcomes = finished[0]!.outcomes;
      const failed = outcomes.filter((o): o is Extract<SliceOutcome, { status: 'failed' }> => o.status === 'failed');
      expect(failed.map((o) => `${o.table}/${o.municipality}/${o.errorClass}`)).toEqual([`${FACT}/${A.ibge}/data`]);
      expect(failed[0]!.message).toMatch(new RegExp(`^${FACT}/${A.ibge}: column nu_pressao_sistolica on line \\d+ of \\S+\\.csv\\.gz: value not convertible to DECIMAL`));
      expect(outcomes.filter((o) => o.status !== 'failed').every((o) => o.status === 'loaded')).toBe(true);
      expect(outcomes).toHaveLength(2 * PEC_TABLES.length);
      // Never retried as transient, never dead-lettered: the load ran once.
      expect(p.events.filter((e) => e.kind === 'load_failed')).toEqual([]);
      // B's fact rows landed; none of A's fact rows (the slice is all or nothing); A's other tables landed.
      const [fact] = await p.warehouse.query(
        `SELECT count(*) FILTER (WHERE _municipality_ibge = $1)::INTEGER AS a, count(*) FILTER (WHERE _municipality_ibge = $2)::INTEGER AS b FROM raw."${FACT}"`,
        [A.ibge, B.ibge],
      );
      expect(fact).toMatchObject({ a: 0 });
      expect(Number(fact!.b)).toBeGreaterThan(0);
      const ledger = await p.warehouse.query(`SELECT table_name, municipality FROM ops.loaded_slices ORDER BY ALL`);
      expect(ledger).toHaveLength(2 * PEC_TABLES.length - 1);
      expect(ledger).not.toContainEqual({ table_name: FACT, municipality: A.ibge });
      // No row content in the logs: not the value, not DuckDB's quoted line.
      expect(p.log.lines.some((l) => l.includes(failed[0]!.message.slice(0, 60)))).toBe(true);
      expect(p.log.lines.filter((l) => /Original Line|Could not convert string|"NaN"/.test(l))).toEqual([]);
    } finally {
      await p.dispose();
    }
  });
});
