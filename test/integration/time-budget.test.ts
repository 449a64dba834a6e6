import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { seedPec } from '../../scripts/synthetic-pec/generate';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { testPipeline } from '../support/local-pipeline';
import { fingerprint } from '../support/warehouse';

/**
 * Cloud Functions stop event handlers at 540 s. When the time budget runs out, the extractor
 * checkpoints the tables it committed and continues in a new message; the continuation finishes
 * the work and the warehouse ends up as if one invocation had done it all.
 */
describe('time budget and continuation', () => {
  let db: TestDatabase;
  const CAMPINAS = { ibge: '3509502', name: 'Campinas', uf: 'SP' };
  beforeAll(async () => {
    db = await createTestDatabase('pec_budget', (c) => seedPec(c, { seed: 21, municipalities: [CAMPINAS], citizens: 150, endDate: '2026-11-20' }).then(() => {}));
  }, 60_000);
  afterAll(async () => db?.drop());

  it('continues table by table when the budget is exhausted and lands the same data', async () => {
    const request = { runDate: '2026-11-21', window: { start: '2026-01-01', end: '2026-11-22' } };
    const reference = await testPipeline([{ db, municipalities: [CAMPINAS] }]);
    const tight = await testPipeline([{ db, municipalities: [CAMPINAS] }], { settings: { timeBudgetMs: 1 } });
    try {
      await reference.runOnce(request);
      const run = await tight.runOnce(request);
      // This once came back empty at the start of a busy full run (not reproduced since): if it does
      // again, the diff shows the failures the extraction met (a transient one before success is fine).
      const failures = tight.events.filter((e) => e.kind === 'extract_failed');
      expect(run.extracted.length > 0 ? run.extracted : { extracted: run.extracted, failures }).toEqual([CAMPINAS.ibge]);
      const continued = tight.events.filter((e) => e.kind === 'extract_continued');
      // Each invocation commits at least one table before it checks the budget: one table each.
      expect(continued).toHaveLength(PEC_TABLES.length - 1);
      expect(await tight.store.list(`runs/${run.runId}/checkpoints/`)).toHaveLength(PEC_TABLES.length - 1);
      // Same rows; only the ingestion columns (run, snapshot time) differ.
      expect(await fingerprint(tight.warehouse, PEC_TABLES, undefined, { contentOnly: true })).toEqual(
        await fingerprint(reference.warehouse, PEC_TABLES, undefined, { contentOnly: true }),
      );
      const [n] = await tight.warehouse.query(`SELECT count(*)::INTEGER AS n FROM ops.loaded_slices`);
      expect(n!.n).toBe(PEC_TABLES.length);
    } finally {
      await reference.dispose();
      await tight.dispose();
    }
  });
});
