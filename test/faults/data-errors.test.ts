import type { TestDatabase } from '../support/pg';
import { FaultLab, ledgerRow, logLines, REQUEST, seedSource } from './support/harness';

/**
 * A deterministic data error at its source: a PEC version widened a column the registry still calls
 * INTEGER, and one row holds 2^40. Retrying could never help, so it must not reach a load job at all:
 * the extractor sets the value aside (NULL in the staged row, a record naming table, column, primary
 * key and reason in ops.set_aside_values) and the run goes on — no retry, no dead letter, every slice
 * loaded, one alert. (A staged file that still fails to load fails alone, class `data`:
 * test/integration/warehouse-behaviour.test.ts, for both warehouses.)
 */
const CAMPINAS = { ibge: '3509502', name: 'Campinas', uf: 'SP' as const };

describe('a value the warehouse type cannot hold', () => {
  const lab = new FaultLab();
  let db: TestDatabase;
  let rowId: string;
  beforeAll(async () => {
    db = await seedSource('faults_data', 401, [CAMPINAS]);
    // st_faleceu is INTEGER in the registry; this source widened it and holds 2^40 in one row.
    await db.client.query('ALTER TABLE tb_fat_cidadao_pec ALTER COLUMN st_faleceu TYPE bigint');
    const res = await db.client.query(
      'UPDATE tb_fat_cidadao_pec SET st_faleceu = 1099511627776 WHERE co_seq_fat_cidadao_pec = (SELECT min(co_seq_fat_cidadao_pec) FROM tb_fat_cidadao_pec) RETURNING co_seq_fat_cidadao_pec::text AS id',
    );
    expect(res.rowCount).toBe(1);
    rowId = res.rows[0].id;
    // And a newer PEC version added a column the registry does not know yet: drift, reported in the ledger.
    await db.client.query('ALTER TABLE tb_fat_cidadao_pec ADD COLUMN ds_coluna_nova text');
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('is set aside at extraction, named and alerted; nothing is retried or dead-lettered and every slice loads', async () => {
    const p = await lab.pipeline([{ db, municipalities: [CAMPINAS] }]);
    try {
      const run = await p.runOnce(REQUEST);
      await p.drain();
      expect(run.extracted).toEqual([CAMPINAS.ibge]);
      expect(p.deliveries.filter((d) => d.subscription === 'extract').map((d) => d.attempt)).toEqual([1]);
      expect(p.bus.deadLetters).toEqual([]);
      expect(await ledgerRow(p.warehouse, run.runId, CAMPINAS.ibge)).toMatchObject({ status: 'loaded' });
      // The ledger row counts the set-aside value and names the unknown column (ops.municipality_runs).
      expect(
        await p.warehouse.query(`SELECT set_aside_values::INTEGER AS set_aside, unknown_columns FROM ops.municipality_runs WHERE run_id = $1 AND municipality = $2`, [
          run.runId,
          CAMPINAS.ibge,
        ]),
      ).toEqual([{ set_aside: 1, unknown_columns: 'tb_fat_cidadao_pec.ds_coluna_nova' }]);
      expect(await p.warehouse.query(`SELECT source_table, column_name, primary_key, reason, original_value FROM ops.set_aside_values`)).toEqual([
        { source_table: 'tb_fat_cidadao_pec', column_name: 'st_faleceu', primary_key: JSON.stringify([rowId]), reason: 'integer_out_of_range', original_value: '1099511627776' },
      ]);
      expect(await p.warehouse.query(`SELECT st_faleceu FROM raw.tb_fat_cidadao_pec WHERE co_seq_fat_cidadao_pec = $1`, [Number(rowId)])).toEqual([{ st_faleceu: null }]);
      expect((await p.warehouse.query(`SELECT rule FROM ops.alerts WHERE run_id = $1`, [run.runId])).map((a) => a.rule)).toContain('values_set_aside');
      expect(logLines(p).filter((l) => l.severity === 'WARNING' && /staged as NULL and recorded in set_aside_values/.test(String(l.message)))).toHaveLength(1);
    } finally {
      await p.dispose();
    }
  });
});
