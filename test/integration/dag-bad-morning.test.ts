import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ibgeCheckDigit } from '../../shared/contracts/ibge';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { registryFor, type Source } from '../support/local-pipeline';
import type { TestDatabase } from '../support/pg';
import { FaultLab, REQUEST, buildReference, diffFromReference, duplicateKeys, ledgerRow, removeDir, seedSource, type Reference } from '../faults/support/harness';

/**
 * A bad morning for 60 municipalities, with a deterministic fault mix: 6 sources refuse connections
 * (10 %), 2 refuse the password, 2 run into the statement timeout, 2 lack a column the registry
 * requires (schema drift), 3 get every extract message three times, and one healthy municipality is
 * rerun in the middle of the run. Every healthy slice must equal a clean run's, row by row, and every
 * faulty municipality must end in the state and class of the fault injected into it.
 */
const N = 60;
const ibges = Array.from({ length: N }, (_, i) => `35${String(i + 10).padStart(4, '0')}`).map((six) => `${six}${ibgeCheckDigit(six)}`);
const muni = (ibge: string, i: number) => ({ ibge, name: `Municipio ${i}`, uf: 'SP' });
// The fault of each municipality, by position: deterministic, spread over the plan (not all first).
const UNREACHABLE = [0, 9, 18, 27, 36, 45].map((i) => ibges[i]!);
const WRONG_PASSWORD = [5, 33].map((i) => ibges[i]!);
const STATEMENT_TIMEOUT = [12, 50].map((i) => ibges[i]!);
const MISSING_COLUMN = [21, 57].map((i) => ibges[i]!);
const TRIPLED = [3, 30, 59].map((i) => ibges[i]!);
const RERUN = ibges[7]!;
const FAULTY = [...UNREACHABLE, ...WRONG_PASSWORD, ...STATEMENT_TIMEOUT, ...MISSING_COLUMN];
const HEALTHY = ibges.filter((m) => !FAULTY.includes(m));
const DRIFT_TABLE = 'tb_fat_atendimento_individual';
const DRIFT_COLUMN = 'nu_peso';

describe('a bad morning for 60 municipalities: no shared fate', () => {
  const lab = new FaultLab();
  let main: TestDatabase;
  let slow: TestDatabase;
  let drift: TestDatabase;
  let ref: Reference;
  const inMain = ibges.filter((m) => !STATEMENT_TIMEOUT.includes(m) && !MISSING_COLUMN.includes(m)).map((m) => muni(m, ibges.indexOf(m)));
  const sources = (): Source[] => [
    { db: main, municipalities: inMain },
    { db: slow, municipalities: STATEMENT_TIMEOUT.map((m) => muni(m, ibges.indexOf(m))) },
    { db: drift, municipalities: MISSING_COLUMN.map((m) => muni(m, ibges.indexOf(m))) },
  ];

  beforeAll(async () => {
    // Small municipalities (every table still holds rows for each, or the reference refuses them).
    const size = { citizens: 80, months: 4 };
    main = await seedSource('pec_morning_main', 61, inMain, size);
    slow = await seedSource('pec_morning_slow', 62, STATEMENT_TIMEOUT.map((m) => muni(m, ibges.indexOf(m))), size);
    drift = await seedSource('pec_morning_drift', 63, MISSING_COLUMN.map((m) => muni(m, ibges.indexOf(m))), size);
    // The clean run: the same sources, no fault yet.
    ref = await buildReference(lab, sources(), REQUEST, { settings: { statementTimeoutMs: 1_500 }, subscription: { maxConcurrency: 6 } });
  }, 600_000);
  afterAll(async () => {
    removeDir(ref?.dir);
    await main?.drop();
    await slow?.drop();
    await drift?.drop();
  });

  it('healthy municipalities load exactly as on a clean morning; each faulty one ends as injected', async () => {
    // Faults: a slow table (every row sleeps) beyond the statement timeout; a column gone.
    await slow.client.query(`
      BEGIN;
      CREATE FUNCTION slow_row() RETURNS boolean LANGUAGE plpgsql VOLATILE AS 'BEGIN PERFORM pg_sleep(0.05); RETURN true; END';
      ALTER TABLE tb_fat_cidadao_pec RENAME TO tb_fat_cidadao_pec_real;
      CREATE VIEW tb_fat_cidadao_pec AS SELECT * FROM tb_fat_cidadao_pec_real WHERE slow_row();
      GRANT SELECT ON tb_fat_cidadao_pec TO ${slow.readerRole};
      COMMIT;`);
    await drift.client.query(`ALTER TABLE ${DRIFT_TABLE} DROP COLUMN ${DRIFT_COLUMN}`);
    const refusing = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    const registry = MunicipalityRegistry.parse({
      municipalities: registryFor(sources()).municipalities.map((m) =>
        UNREACHABLE.includes(m.ibge)
          ? { ...m, connection: { ...m.connection, port: refusing } }
          : WRONG_PASSWORD.includes(m.ibge)
            ? { ...m, connection: { ...m.connection, password: { secret: 'pw-wrong' } } }
            : m,
      ),
    });
    const p = await lab.pipeline(sources(), {
      registry,
      settings: { statementTimeoutMs: 1_500 },
      // Redelivered with backoff, then dead-lettered: the run ends when every municipality has settled.
      subscription: { maxConcurrency: 6, maxDeliveryAttempts: 6, minBackoffMs: 100, maxBackoffMs: 800 },
      timing: { deadlineMs: 240_000, pollEveryMs: 100, loadWaveEveryMs: 3_000 },
      onEvent: (e) => {
        // One rerun in the middle: as soon as the first municipality is staged.
        if (e.kind === 'extract_staged' && !rerunSent && e.runId.startsWith('daily-')) {
          rerunSent = true;
          void p.bus.publish('runRequests', { trigger: 'rerun', municipalities: [RERUN], ...REQUEST });
        }
      },
    });
    let rerunSent = false;
    fs.writeFileSync(path.join(p.paths.secrets, 'pw-wrong'), 'not-the-password');
    p.bus.duplicate = (msg) => {
      if (msg.topic !== 'extractRequests') return 1;
      const m = JSON.parse(msg.data.toString()) as { municipality: string; continuation?: unknown };
      return TRIPLED.includes(m.municipality) && !m.continuation ? 3 : 1;
    };
    try {
      const run = await p.runOnce(REQUEST);
      await p.drain();
      expect(rerunSent).toBe(true);
      // Healthy: loaded, identical to the clean run row by row, no key twice (tripled deliveries, rerun).
      const statuses = Object.fromEntries(
        (await p.warehouse.query(`SELECT municipality, status, error_class FROM ops.municipality_runs WHERE run_id = $1`, [run.runId])).map((r) => [
          String(r.municipality),
          `${String(r.status)}${r.error_class ? `/${String(r.error_class)}` : ''}`,
        ]),
      );
      const expected = Object.fromEntries(
        ibges.map((m) => [
          m,
          UNREACHABLE.includes(m)
            ? 'failed/source_unreachable'
            : WRONG_PASSWORD.includes(m)
              ? 'failed/source_auth'
              : STATEMENT_TIMEOUT.includes(m)
                ? 'failed/source_timeout'
                : MISSING_COLUMN.includes(m)
                  ? 'loaded/source_schema'
                  : 'loaded',
        ]),
      );
      expect(statuses).toEqual(expected);
      expect(run.dag.late).toEqual([]);
      expect(run.dag.skipped).toEqual([]);
      expect(await diffFromReference(p.warehouse, ref, { municipalities: HEALTHY })).toEqual({});
      expect(await duplicateKeys(p.warehouse)).toEqual([]);
      // Schema drift: only the drifted table fails, the municipality's other tables land as on a clean day.
      for (const m of MISSING_COLUMN) {
        const recon = await p.warehouse.query(`SELECT table_name, status FROM ops.reconciliation WHERE run_id = $1 AND municipality = $2 AND status <> 'match'`, [run.runId, m]);
        expect(recon).toEqual([{ table_name: DRIFT_TABLE, status: 'extract_failed' }]);
      }
      expect(await diffFromReference(p.warehouse, ref, { municipalities: MISSING_COLUMN, tables: PEC_TABLES.filter((t) => t.name !== DRIFT_TABLE) })).toEqual({});
      // The rerun loaded its own municipality under its own run; the daily run still counts it loaded.
      expect(await ledgerRow(p.warehouse, run.runId, RERUN)).toMatchObject({ status: 'loaded' });
      // Load waves, bounded.
      expect(run.dag.waves.length).toBeGreaterThanOrEqual(1);
      expect(run.dag.waves.flat().sort()).toEqual([...HEALTHY, ...MISSING_COLUMN].sort());
    } finally {
      await p.dispose();
    }
  }, 600_000);
});
