import { seedPec } from '../../scripts/synthetic-pec/generate';
import { SET_ASIDE_TABLE } from '../../shared/contracts/tables';
import type { RunEvent } from '../../shared/ports';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { testPipeline } from '../support/local-pipeline';

/**
 * Issue 10's bad morning, the value part, end to end on the local pipeline: one in-window value of
 * one municipality that the warehouse type cannot hold ('NaN' in a numeric column: PostgreSQL
 * accepts it, DECIMAL does not). The extractor sets it aside (NULL in the staged row, a record in
 * ops.set_aside_values), so nothing unloadable reaches the load: every slice of both municipalities
 * lands in one load, nothing is retried, and no log line holds the row. A staged file that still
 * fails to load fails alone: test/integration/warehouse-behaviour.test.ts, both warehouses.
 */
const A = { ibge: '4106902', name: 'Curitiba', uf: 'PR' };
const B = { ibge: '4119905', name: 'Ponta Grossa', uf: 'PR' };
const FACT = 'tb_fat_atendimento_individual';

describe('one unloadable value in one municipality', () => {
  let db: TestDatabase;
  let badId: number;
  beforeAll(async () => {
    db = await createTestDatabase('pec_bad_value', (c) =>
      seedPec(c, { seed: 7, municipalities: [A, B], citizens: 60, months: 2, endDate: '2026-11-20', dwProcessedAt: new Date(Date.now() - 3_600_000) }).then(() => {}),
    );
    const r = await db.client.query(
      `UPDATE tb_fat_atendimento_individual SET nu_pressao_sistolica = 'NaN' WHERE co_seq_fat_atd_ind = (
         SELECT max(co_seq_fat_atd_ind) FROM tb_fat_atendimento_individual
         WHERE co_dim_municipio IN (SELECT co_seq_dim_municipio FROM tb_dim_municipio WHERE co_ibge = $1) AND co_dim_tempo >= 20261101) RETURNING co_seq_fat_atd_ind AS id`,
      [A.ibge],
    );
    expect(r.rowCount).toBe(1);
    badId = Number(r.rows[0].id);
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('is set aside at extraction, recorded and alerted; every slice of both municipalities loads', async () => {
    const p = await testPipeline([{ db, municipalities: [A, B] }]);
    try {
      const run = await p.runOnce({ runDate: '2026-11-21' });
      expect(run.extracted.sort()).toEqual([A.ibge, B.ibge]);
      const finished = p.events.filter((e): e is Extract<RunEvent, { kind: 'load_finished' }> => e.kind === 'load_finished');
      const outcomes = finished.flatMap((e) => e.outcomes);
      expect(outcomes.filter((o) => o.status !== 'loaded')).toEqual([]);
      expect(outcomes.filter((o) => o.table !== SET_ASIDE_TABLE.name)).toHaveLength(2 * PEC_TABLES.length);
      // Never retried, never dead-lettered.
      expect(p.events.filter((e) => e.kind === 'load_failed')).toEqual([]);
      expect(p.bus.deadLetters).toEqual([]);
      // The value is recorded, named (municipality, table, column, primary key, reason) and its row landed with NULL.
      const records = await p.warehouse.query(`SELECT _municipality_ibge AS m, source_table, column_name, primary_key, reason, original_value FROM ops.set_aside_values`);
      expect(records).toEqual([
        { m: A.ibge, source_table: FACT, column_name: 'nu_pressao_sistolica', primary_key: JSON.stringify([String(badId)]), reason: 'numeric_nan', original_value: 'NaN' },
      ]);
      const [row] = await p.warehouse.query(`SELECT nu_pressao_sistolica AS v FROM raw."${FACT}" WHERE _municipality_ibge = $1 AND co_seq_fat_atd_ind = $2`, [A.ibge, badId]);
      expect(row).toEqual({ v: null });
      const [fact] = await p.warehouse.query(
        `SELECT count(*) FILTER (WHERE _municipality_ibge = $1)::INTEGER AS a, count(*) FILTER (WHERE _municipality_ibge = $2)::INTEGER AS b FROM raw."${FACT}"`,
        [A.ibge, B.ibge],
      );
      expect(fact!.a).toBeGreaterThan(0);
      expect(fact!.b).toBeGreaterThan(0);
      // The run report counts it and alerts.
      const alerts = await p.warehouse.query(`SELECT rule FROM ops.alerts WHERE run_id = $1`, [run.runId]);
      expect(alerts.map((a) => a.rule)).toContain('values_set_aside');
      // No row content in the logs.
      expect(p.log.lines.filter((l) => /Original Line|Could not convert string|"NaN"/.test(l))).toEqual([]);
    } finally {
      await p.dispose();
    }
  });
});
