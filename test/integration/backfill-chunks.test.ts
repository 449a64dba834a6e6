import { backfillChunks } from '../../scripts/lib/requests';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { seedPec } from '../../scripts/synthetic-pec/generate';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { testPipeline } from '../support/local-pipeline';
import { fingerprint } from '../support/warehouse';

/**
 * A backfill as `npm run backfill` sends it: one run request per month, each loading exactly its
 * month's slices; the whole backfill sent again extracts and loads nothing new.
 */
const M = { ibge: '3509502', name: 'Campinas', uf: 'SP' };
const MONTHS = [
  ['2026-07-01', '2026-08-01'],
  ['2026-08-01', '2026-09-01'],
  ['2026-09-01', '2026-10-01'],
] as const;
const key = (d: string) => Number(d.replaceAll('-', ''));

describe('backfill in month chunks', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('pec_backfill', (c) =>
      seedPec(c, { seed: 51, municipalities: [M], citizens: 120, months: 6, endDate: '2026-11-20', dwProcessedAt: new Date(Date.now() - 3_600_000) }).then(() => {}),
    );
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('loads each month as its own slice, reconciled with the source, and is idempotent', async () => {
    const p = await testPipeline([{ db, municipalities: [M] }]);
    try {
      const chunks = backfillChunks({ municipality: M.ibge, from: '2026-07', to: '2026-09' });
      for (const c of chunks) {
        const sent = await p.publishRunRequest(c);
        expect(sent).toMatchObject({ runId: c.runId, extracted: [M.ibge] });
      }
      const fin = await p.finalize(null); // reports every chunk (runs not reported yet)
      expect(fin.report!.runs.map((r) => [r.runId, r.status]).sort()).toEqual(chunks.map((c) => [c.runId, 'succeeded']));

      // Windowed tables: one slice per month, exactly the chunk windows; full-refresh tables once.
      const windowed = PEC_TABLES.filter((t) => t.mode.kind === 'window').map((t) => t.name);
      const slices = await p.warehouse.query(
        `SELECT table_name, strftime(window_start, '%Y-%m-%d') AS ws, strftime(window_end, '%Y-%m-%d') AS we, run_id FROM ops.loaded_slices ORDER BY table_name, ws`,
      );
      for (const t of windowed) expect(slices.filter((s) => s.table_name === t).map((s) => [s.ws, s.we, s.run_id])).toEqual(MONTHS.map(([s, e], i) => [s, e, chunks[i]!.runId]));
      for (const t of PEC_TABLES.filter((x) => x.mode.kind === 'full'))
        expect(slices.filter((s) => s.table_name === t.name).map((s) => [s.ws, s.run_id])).toEqual([[null, chunks.at(-1)!.runId]]);

      // The warehouse holds exactly the source's rows of those months, and nothing outside them.
      for (const table of ['tb_fat_atendimento_individual', 'tb_fat_vacinacao_vacina']) {
        for (const [s, e] of MONTHS) {
          const { rows: src } = await db.client.query(`SELECT count(*)::int AS n FROM ${table} WHERE co_dim_tempo >= $1 AND co_dim_tempo < $2`, [key(s), key(e)]);
          const [dst] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.${table} WHERE co_dim_tempo >= $1 AND co_dim_tempo < $2`, [key(s), key(e)]);
          expect({ table, s, n: dst!.n }).toEqual({ table, s, n: src[0].n });
          expect(src[0].n).toBeGreaterThan(0);
        }
        const [outside] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.${table} WHERE co_dim_tempo < $1 OR co_dim_tempo >= $2`, [
          key(MONTHS[0][0]),
          key(MONTHS[2][1]),
        ]);
        expect(outside!.n).toBe(0);
      }
      const [mismatch] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM ops.reconciliation WHERE status <> 'match'`);
      expect(mismatch!.n).toBe(0);

      // The same backfill again: every chunk finds its manifest, every slice is already loaded.
      const before = await fingerprint(p.warehouse, PEC_TABLES);
      const events = p.events.length;
      for (const c of backfillChunks({ municipality: M.ibge, from: '2026-07', to: '2026-09' })) await p.publishRunRequest(c);
      const again = p.events.slice(events);
      expect(again.filter((e) => e.kind === 'extract_staged').every((e) => e.kind === 'extract_staged' && e.alreadyDone)).toBe(true);
      expect(again.filter((e) => e.kind === 'load_finished').flatMap((e) => (e.kind === 'load_finished' ? e.outcomes.map((o) => o.status) : []))).not.toContain('loaded');
      expect(await fingerprint(p.warehouse, PEC_TABLES)).toEqual(before);
      const [runs] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM ops.runs WHERE trigger = 'backfill'`);
      expect(runs!.n).toBe(3);
    } finally {
      await p.dispose();
    }
  });
});
