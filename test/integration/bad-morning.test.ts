import fs from 'node:fs';
import path from 'node:path';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import {
  DRIFT_TABLE,
  OVERFLOW_COLUMN,
  OVERFLOW_TABLE,
  WRONG_PASSWORD_SECRET,
  expectedOutcomes,
  faultedRegistry,
  injectMissingColumn,
  injectOverflow,
  injectStatementTimeout,
  morningPlan,
  observedOutcomes,
  refusingPort,
  tripledDeliveries,
} from '../../scripts/bench/lib/bad-morning-mix';
import { registryFor, type Source } from '../support/local-pipeline';
import type { TestDatabase } from '../support/pg';
import { FaultLab, REQUEST, buildReference, diffFromReference, duplicateKeys, ledgerRow, removeDir, seedSource, type Reference } from '../faults/support/harness';

/**
 * A bad morning for 60 municipalities, with the deterministic fault mix that
 * `npm run bench -- --bad-morning` also runs (scripts/bench/lib/bad-morning-mix.ts): 6 sources refuse
 * connections (10 %), 2 refuse the password, 2 run into the statement timeout, 2 lack a column the
 * registry requires (schema drift), 1 holds a value the warehouse type cannot hold (set aside), 3 get
 * every extract message three times, and one healthy municipality is rerun in the middle of the run.
 * Every healthy slice must equal a clean run's, row by row, and every faulty municipality must end in
 * the state and class of the fault injected into it.
 */
const plan = morningPlan(60);
const { ibges } = plan;
const STATEMENT_TIMEOUT = plan.of('statement_timeout');
const MISSING_COLUMN = plan.of('missing_column');
const OVERFLOW = plan.of('overflow');
const RERUN = plan.rerun;
const HEALTHY = plan.healthy;
const muni = (ibge: string) => ({ ibge, name: `Municipio ${ibges.indexOf(ibge)}`, uf: 'SP' });

describe('a bad morning for 60 municipalities: no shared fate', () => {
  const lab = new FaultLab();
  let main: TestDatabase;
  let slow: TestDatabase;
  let drift: TestDatabase;
  let overflow: TestDatabase;
  let ref: Reference;
  const inMain = ibges.filter((m) => plan.sourceOf(m) === 'main').map(muni);
  const sources = (): Source[] => [
    { db: main, municipalities: inMain },
    { db: slow, municipalities: STATEMENT_TIMEOUT.map(muni) },
    { db: drift, municipalities: MISSING_COLUMN.map(muni) },
    { db: overflow, municipalities: OVERFLOW.map(muni) },
  ];

  beforeAll(async () => {
    // Small municipalities (every table still holds rows for each, or the reference refuses them).
    const size = { citizens: 80, months: 4 };
    main = await seedSource('pec_morning_main', 61, inMain, size);
    slow = await seedSource('pec_morning_slow', 62, STATEMENT_TIMEOUT.map(muni), size);
    drift = await seedSource('pec_morning_drift', 63, MISSING_COLUMN.map(muni), size);
    overflow = await seedSource('pec_morning_overflow', 64, OVERFLOW.map(muni), size);
    // The clean run: the same sources, no fault yet.
    // The faulty run's deadline: 60 municipalities on a shared machine can outlast the harness's 25 s default.
    ref = await buildReference(lab, sources(), REQUEST, { settings: { statementTimeoutMs: 1_500 }, subscription: { maxConcurrency: 6 }, timing: { deadlineMs: 240_000 } });
  }, 600_000);
  afterAll(async () => {
    removeDir(ref?.dir);
    await main?.drop();
    await slow?.drop();
    await drift?.drop();
    await overflow?.drop();
  });

  it('healthy municipalities load exactly as on a clean morning; each faulty one ends as injected', async () => {
    // Faults: a slow table (every row sleeps) beyond the statement timeout; a column gone; a value too big.
    await injectStatementTimeout(slow.client, slow.readerRole);
    await injectMissingColumn(drift.client);
    expect(await injectOverflow(overflow.client)).toBe(OVERFLOW.length);
    const registry = faultedRegistry(registryFor(sources()), plan, await refusingPort());
    const p = await lab.pipeline(sources(), {
      registry,
      settings: { statementTimeoutMs: 1_500 },
      // Redelivered with backoff, then dead-lettered: the run ends when every municipality has settled.
      subscription: { maxConcurrency: 6, maxDeliveryAttempts: 6, minBackoffMs: 100, maxBackoffMs: 800 },
      // The load budget is generous on purpose: a wave whose load outlives it is given up and its
      // municipalities sent again (the dead-lettered-wave path, tested in workflow-waves.test.ts); on a
      // loaded machine a 15 s budget made that happen here and each municipality must be in one wave.
      timing: { deadlineMs: 240_000, pollEveryMs: 100, loadWaveEveryMs: 3_000, loadTimeoutMs: 180_000 },
      onEvent: (e) => {
        // One rerun in the middle: as soon as the first municipality is staged.
        if (e.kind === 'extract_staged' && !rerunSent && e.runId.startsWith('daily-')) {
          rerunSent = true;
          void p.bus.publish('runRequests', { trigger: 'rerun', municipalities: [RERUN], ...REQUEST });
        }
      },
    });
    let rerunSent = false;
    fs.writeFileSync(path.join(p.paths.secrets, WRONG_PASSWORD_SECRET), 'not-the-password');
    p.bus.duplicate = tripledDeliveries(plan);
    try {
      const run = await p.runOnce(REQUEST);
      await p.drain();
      expect(rerunSent).toBe(true);
      // Healthy: loaded, identical to the clean run row by row, no key twice (tripled deliveries, rerun).
      expect(await observedOutcomes(p.warehouse, run.runId)).toEqual(expectedOutcomes(plan));
      expect(run.workflow.late).toEqual([]);
      expect(run.workflow.skipped).toEqual([]);
      expect(await diffFromReference(p.warehouse, ref, { municipalities: HEALTHY })).toEqual({});
      expect(await duplicateKeys(p.warehouse)).toEqual([]);
      // The value too big: NULL in the warehouse, recorded once per municipality, everything else as on a clean day.
      const setAside = await p.warehouse.query(`SELECT source_table, column_name, reason, original_value FROM ops.set_aside_values`);
      expect(setAside).toEqual(
        OVERFLOW.map(() => ({ source_table: OVERFLOW_TABLE, column_name: OVERFLOW_COLUMN, reason: 'integer_out_of_range', original_value: '1099511627776' })),
      );
      expect(await diffFromReference(p.warehouse, ref, { municipalities: OVERFLOW, tables: PEC_TABLES.filter((t) => t.name !== OVERFLOW_TABLE) })).toEqual({});
      // Schema drift: only the drifted table fails, the municipality's other tables land as on a clean day.
      for (const m of MISSING_COLUMN) {
        const recon = await p.warehouse.query(`SELECT table_name, status FROM ops.reconciliation WHERE run_id = $1 AND municipality = $2 AND status <> 'match'`, [run.runId, m]);
        expect(recon).toEqual([{ table_name: DRIFT_TABLE, status: 'extract_failed' }]);
      }
      expect(await diffFromReference(p.warehouse, ref, { municipalities: MISSING_COLUMN, tables: PEC_TABLES.filter((t) => t.name !== DRIFT_TABLE) })).toEqual({});
      // The rerun loaded its own municipality under its own run; the daily run still counts it loaded.
      expect(await ledgerRow(p.warehouse, run.runId, RERUN)).toMatchObject({ status: 'loaded' });
      // Load waves, bounded.
      expect(run.workflow.waves.length).toBeGreaterThanOrEqual(1);
      expect(run.workflow.waves.flat().sort()).toEqual([...HEALTHY, ...MISSING_COLUMN, ...OVERFLOW].sort());
    } finally {
      await p.dispose();
    }
  }, 600_000);
});
