import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { latestMunicipalityStates } from '../../shared/ledger/duckdb-ledger';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { seedPec } from '../../scripts/synthetic-pec/generate';
import { createTestDatabase, testServerPort, type TestDatabase } from '../support/pg';
import { registryFor, testPipeline } from '../support/local-pipeline';

/**
 * The run ledger (ops.runs, ops.municipality_runs, ops.reconciliation, ops.alerts) after a daily run
 * in which one municipality fails, one has a stale source and one is healthy. Source counts are
 * checked against the PostgreSQL sources directly, not against what the pipeline reports.
 */
const FRESH = { ibge: '3509502', name: 'Campinas', uf: 'SP' };
const STALE = { ibge: '3548500', name: 'Santos', uf: 'SP' };
const FAILING = '4106902';
const RUN_DATE = '2026-11-21';
const RUN_ID = 'daily-20261121';
const HOUR = 3_600_000;

describe('run ledger after a run with one failing municipality', () => {
  let fresh: TestDatabase;
  let stale: TestDatabase;
  const seeded = { fresh: new Date(Date.now() - 2 * HOUR), stale: new Date(Date.now() - 72 * HOUR) };
  beforeAll(async () => {
    fresh = await createTestDatabase('pec_ledger_a', (c) =>
      seedPec(c, { seed: 31, municipalities: [FRESH], citizens: 120, months: 3, endDate: '2026-11-20', dwProcessedAt: seeded.fresh }).then(() => {}),
    );
    stale = await createTestDatabase('pec_ledger_b', (c) =>
      seedPec(c, { seed: 32, municipalities: [STALE], citizens: 120, months: 3, endDate: '2026-11-20', pecVersion: '5.2', dwProcessedAt: seeded.stale }).then(() => {}),
    );
  }, 120_000);
  afterAll(async () => {
    await fresh?.drop();
    await stale?.drop();
  });

  it('records runs, municipality runs, per-slice reconciliation against the source, and alerts', async () => {
    const sources = [
      { db: fresh, municipalities: [FRESH] },
      { db: stale, municipalities: [STALE] },
    ];
    const registry = MunicipalityRegistry.parse({
      municipalities: [
        ...registryFor(sources).municipalities,
        {
          ibge: FAILING,
          name: 'Curitiba',
          network: 'vpn',
          connection: { host: '127.0.0.1', port: testServerPort(), database: fresh.name, user: fresh.readerRole, password: { secret: 'no-such-secret' } },
        },
      ],
    });
    const p = await testPipeline(sources, { registry });
    try {
      const run = await p.runOnce({ runDate: RUN_DATE });
      expect(run.runId).toBe(RUN_ID);

      // ops.runs: one row, partial, with the counts.
      const runs = await p.warehouse.query(
        `SELECT run_id, trigger, strftime(run_date, '%Y-%m-%d') AS run_date, strftime(window_start, '%Y-%m-%d') AS window_start,
                strftime(window_end, '%Y-%m-%d') AS window_end, status, municipalities_planned::INTEGER AS planned, municipalities_done::INTEGER AS done,
                municipalities_loaded::INTEGER AS loaded, municipalities_failed::INTEGER AS failed, municipalities_late::INTEGER AS late, alerts::INTEGER AS alerts,
                started_at <= finished_at AS ordered, deadline_at > started_at AS has_deadline
         FROM ops.runs`,
      );
      expect(runs).toEqual([
        {
          run_id: RUN_ID,
          trigger: 'daily',
          run_date: RUN_DATE,
          window_start: '2026-10-17',
          window_end: '2026-11-22',
          status: 'partial',
          planned: 3,
          done: 2,
          loaded: 2,
          failed: 1,
          late: 0,
          alerts: 2,
          ordered: true,
          has_deadline: true,
        },
      ]);

      // ops.municipality_runs: one row per municipality, with source facts and the failure.
      const rows = await p.warehouse.query(
        `SELECT municipality, status, attempts::INTEGER AS attempts, rows::INTEGER AS rows, bytes::INTEGER AS bytes, seconds, error_class, error_message,
                pec_version, strftime(dw_processed_at, '%Y-%m-%dT%H:%M:%S') AS dw, extracted_at IS NOT NULL AS extracted, loaded_at IS NOT NULL AS loaded
         FROM ops.municipality_runs WHERE run_id = $1 ORDER BY municipality`,
        [RUN_ID],
      );
      const by = Object.fromEntries(rows.map((r) => [r.municipality, r]));
      for (const [m, dw, major] of [
        [FRESH.ibge, seeded.fresh, '5.5'],
        [STALE.ibge, seeded.stale, '5.2'],
      ] as const) {
        expect(by[m]).toMatchObject({ status: 'loaded', attempts: 1, error_class: null, extracted: true, loaded: true, dw: dw.toISOString().slice(0, 19) });
        expect(String(by[m]!.pec_version)).toMatch(new RegExp(`^${major.replace('.', '\\.')}\\.`));
        expect(by[m]!.rows).toBeGreaterThan(0);
        expect(by[m]!.bytes).toBeGreaterThan(0);
        expect(Number(by[m]!.seconds)).toBeGreaterThanOrEqual(0);
      }
      expect(by[FAILING]).toMatchObject({ status: 'failed', error_class: 'config', rows: null, extracted: false, loaded: false });
      expect(String(by[FAILING]!.error_message)).toContain('no-such-secret');

      // ops.reconciliation: every table of both healthy municipalities matches, and the source
      // row counts are what PostgreSQL holds for the slice.
      const recon = await p.warehouse.query(
        `SELECT municipality, table_name, strftime(window_start, '%Y-%m-%d') AS ws, strftime(window_end, '%Y-%m-%d') AS we,
                source_rows::INTEGER AS source_rows, staged_rows::INTEGER AS staged_rows, loaded_rows::INTEGER AS loaded_rows, status
         FROM ops.reconciliation WHERE run_id = $1 ORDER BY municipality, table_name`,
        [RUN_ID],
      );
      expect(recon).toHaveLength(2 * PEC_TABLES.length);
      expect(recon.every((r) => r.status === 'match' && r.source_rows === r.staged_rows && r.staged_rows === r.loaded_rows)).toBe(true);
      for (const [db, m] of [
        [fresh, FRESH.ibge],
        [stale, STALE.ibge],
      ] as const) {
        for (const table of ['tb_fat_atendimento_individual', 'tb_fat_vacinacao_vacina', 'tb_fat_cidadao_pec']) {
          const r = recon.find((x) => x.municipality === m && x.table_name === table)!;
          const windowed = r.ws !== null;
          const { rows: src } = await db.client.query(
            `SELECT count(*)::int AS n FROM ${table} t JOIN tb_dim_municipio d ON d.co_seq_dim_municipio = t.co_dim_municipio
             WHERE d.co_ibge = $1 ${windowed ? 'AND t.co_dim_tempo >= $2 AND t.co_dim_tempo < $3' : ''}`,
            windowed ? [m, Number(String(r.ws).replaceAll('-', '')), Number(String(r.we).replaceAll('-', ''))] : [m],
          );
          expect({ m, table, source: r.source_rows }).toEqual({ m, table, source: src[0].n });
          const [landed] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.${table} WHERE _municipality_ibge = $1 AND _run_id = $2`, [m, RUN_ID]);
          expect(landed!.n).toBe(r.loaded_rows);
        }
      }

      // ops.alerts: the failure and the stale source, nothing about the healthy municipality.
      const alerts = await p.warehouse.query(`SELECT rule, severity, municipality, message FROM ops.alerts WHERE run_id = $1 ORDER BY rule`, [RUN_ID]);
      expect(alerts.map((a) => [a.rule, a.severity, a.municipality])).toEqual([
        ['municipality_failed', 'ERROR', FAILING],
        ['stale_source', 'ERROR', STALE.ibge],
      ]);
      expect(String(alerts[1]!.message)).toMatch(/threshold 26 h/);

      // npm run status reads the latest state per municipality from these tables.
      const states = await latestMunicipalityStates(p.warehouse);
      expect(states.map((s) => [s.municipality, s.run_id, s.status, Number(s.mismatches)])).toEqual([
        [FRESH.ibge, RUN_ID, 'loaded', 0],
        [STALE.ibge, RUN_ID, 'loaded', 0],
        [FAILING, RUN_ID, 'failed', 0],
      ]);

      // Writing the report again replaces the run's rows: no duplicates.
      await p.finalize(RUN_ID);
      for (const t of ['runs', 'municipality_runs', 'reconciliation', 'alerts']) {
        const [n] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM ops.${t} WHERE run_id = $1`, [RUN_ID]);
        expect({ t, n: n!.n }).toEqual({ t, n: { runs: 1, municipality_runs: 3, reconciliation: 2 * PEC_TABLES.length, alerts: 2 }[t] });
      }
      // The attempts the live observer counted survive the rewrite.
      const [attempts] = await p.warehouse.query(`SELECT attempts::INTEGER AS a FROM ops.municipality_runs WHERE run_id = $1 AND municipality = $2`, [RUN_ID, FRESH.ibge]);
      expect(attempts!.a).toBe(1);
    } finally {
      await p.dispose();
    }
  });
});
