import { rerunRequest } from '../../scripts/lib/requests';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { seedPec } from '../../scripts/synthetic-pec/generate';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { testPipeline } from '../support/local-pipeline';
import { fingerprint } from '../support/warehouse';

/**
 * A rerun is the documented one-line message; it replaces its municipality's slices and changes
 * nothing else. Both municipalities live in the same PEC installation (shared dimension tables), the
 * hardest case for isolation. The source of the rerun municipality is changed in between, so the
 * rerun has something to replace.
 */
const A = { ibge: '4106902', name: 'Curitiba', uf: 'PR' };
const B = { ibge: '4119905', name: 'Ponta Grossa', uf: 'PR' };
const RUN_DATE = '2026-11-21';

describe('rerun of one municipality', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('pec_rerun', (c) =>
      seedPec(c, { seed: 41, municipalities: [A, B], citizens: 120, months: 3, endDate: '2026-11-20', dwProcessedAt: new Date(Date.now() - 3_600_000) }).then(() => {}),
    );
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('replaces only that municipality: raw slices, marts rows and ledger of everyone else are unchanged', async () => {
    const p = await testPipeline([{ db, municipalities: [A, B] }]);
    try {
      const daily = await p.runOnce({ runDate: RUN_DATE });
      expect(daily.extracted.sort()).toEqual([A.ibge, B.ibge]);

      const snapshot = async () => ({
        rawB: await fingerprint(p.warehouse, PEC_TABLES, B.ibge),
        rawA: await fingerprint(p.warehouse, PEC_TABLES, A.ibge),
        // Marts are rebuilt on every run: B's rows must come out identical (the refresh time aside).
        martsB: await p.warehouse.query(
          `SELECT * EXCLUDE (refreshed_at) FROM marts.hypertension_follow_up WHERE municipality_ibge = $1
           UNION ALL BY NAME SELECT * EXCLUDE (refreshed_at) FROM marts.diabetes_follow_up WHERE municipality_ibge = $1 ORDER BY ALL`,
          [B.ibge],
        ),
        slicesB: await p.warehouse.query(`SELECT * FROM ops.loaded_slices WHERE municipality = $1 ORDER BY ALL`, [B.ibge]),
        ledgerDaily: await p.warehouse.query(`SELECT * EXCLUDE (updated_at) FROM ops.municipality_runs WHERE run_id = $1 ORDER BY ALL`, [daily.runId]),
        runsDaily: await p.warehouse.query(`SELECT * FROM ops.runs WHERE run_id = $1`, [daily.runId]),
      });
      const before = await snapshot();
      expect(before.martsB.length).toBeGreaterThan(0);

      // The source changes for A only: weights corrected, some vaccine doses removed.
      const windowKeys = [20261017, 20261122];
      const idsOf = `SELECT co_seq_dim_municipio FROM tb_dim_municipio WHERE co_ibge = '${A.ibge}'`;
      await db.client.query(
        `UPDATE tb_fat_atendimento_individual SET nu_peso = nu_peso + 1 WHERE co_dim_municipio IN (${idsOf}) AND co_dim_tempo >= $1 AND co_dim_tempo < $2`,
        windowKeys,
      );
      const removed = await db.client.query(
        `DELETE FROM tb_fat_vacinacao_vacina WHERE co_seq_fat_vacinacao_vacina IN (
           SELECT co_seq_fat_vacinacao_vacina FROM tb_fat_vacinacao_vacina WHERE co_dim_municipio IN (${idsOf}) AND co_dim_tempo >= $1 AND co_dim_tempo < $2 LIMIT 5)`,
        windowKeys,
      );
      expect(removed.rowCount).toBeGreaterThan(0);

      const request = rerunRequest({ municipality: A.ibge, runDate: RUN_DATE });
      expect(request).toEqual({ trigger: 'rerun', municipalities: [A.ibge], runDate: RUN_DATE });
      const rerun = await p.runOnce(request);
      expect(rerun.runId).toMatch(/^rerun-20261121-[0-9a-f]{8}$/);
      expect(rerun.extracted).toEqual([A.ibge]);

      const after = await snapshot();
      expect(after.rawB).toEqual(before.rawB);
      expect(after.martsB).toEqual(before.martsB);
      expect(after.slicesB).toEqual(before.slicesB);
      expect(after.ledgerDaily).toEqual(before.ledgerDaily);
      expect(after.runsDaily).toEqual(before.runsDaily);
      // A's slices now come from the rerun and hold the source's new content.
      expect(after.rawA).not.toEqual(before.rawA);
      const runIds = await p.warehouse.query(
        `SELECT DISTINCT _run_id FROM raw.tb_fat_atendimento_individual WHERE _municipality_ibge = $1 AND co_dim_tempo >= $2 AND co_dim_tempo < $3`,
        [A.ibge, ...windowKeys],
      );
      expect(runIds).toEqual([{ _run_id: rerun.runId }]);
      const { rows: src } = await db.client.query(
        `SELECT count(*)::int AS n FROM tb_fat_vacinacao_vacina WHERE co_dim_municipio IN (${idsOf}) AND co_dim_tempo >= $1 AND co_dim_tempo < $2`,
        windowKeys,
      );
      const [dst] = await p.warehouse.query(
        `SELECT count(*)::INTEGER AS n FROM raw.tb_fat_vacinacao_vacina WHERE _municipality_ibge = $1 AND co_dim_tempo >= $2 AND co_dim_tempo < $3`,
        [A.ibge, ...windowKeys],
      );
      expect(dst!.n).toBe(src[0].n);
      // The rerun's own slices are A's only, and it has its own ledger rows.
      const rerunSlices = await p.warehouse.query(`SELECT DISTINCT municipality FROM ops.loaded_slices WHERE run_id = $1`, [rerun.runId]);
      expect(rerunSlices).toEqual([{ municipality: A.ibge }]);
      const [ledger] = await p.warehouse.query(`SELECT trigger, status, municipalities_planned::INTEGER AS planned FROM ops.runs WHERE run_id = $1`, [rerun.runId]);
      expect(ledger).toEqual({ trigger: 'rerun', status: 'succeeded', planned: 1 });
    } finally {
      await p.dispose();
    }
  });
});
