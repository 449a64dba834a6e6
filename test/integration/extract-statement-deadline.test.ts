import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExtractSettingsSchema } from '../../shared/contracts/config';
import { PipelineError } from '../../shared/errors';
import { DELIVERY_STATEMENT_DEADLINE_MS, extractMunicipality } from '../../shared/extract/extract-municipality';
import { FUNCTIONS } from '../../shared/contracts/functions';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import { createLogger } from '../../shared/log';
import { systemClock } from '../../shared/ports';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { CapturedLog, registryFor, TEST_KEY } from '../support/local-pipeline';
import { seedSource } from '../faults/support/harness';
import type { TestDatabase } from '../support/pg';

/**
 * A query that hangs for good must end in a recorded failure, not in a delivery the platform kills
 * at the function timeout (which records nothing, so the municipality would end `late` with no
 * class). With the production statement timeout (600 s, longer than the function's 540 s), the
 * extract caps each statement at what the delivery has left.
 */
const M = { ibge: '3509502', name: 'Campinas', uf: 'SP' };

describe('a statement never outlives its delivery', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await seedSource('pec_deadline', 71, [M], { citizens: 40, months: 2 });
    // Every row of one table takes a second: the COPY would run for minutes.
    await db.client.query(`
      BEGIN;
      CREATE FUNCTION slow_row() RETURNS boolean LANGUAGE plpgsql VOLATILE AS 'BEGIN PERFORM pg_sleep(1); RETURN true; END';
      ALTER TABLE tb_fat_cidadao_pec RENAME TO tb_fat_cidadao_pec_real;
      CREATE VIEW tb_fat_cidadao_pec AS SELECT * FROM tb_fat_cidadao_pec_real WHERE slow_row();
      GRANT SELECT ON tb_fat_cidadao_pec TO ${db.readerRole};
      COMMIT;`);
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('the production statement timeout is longer than the function may run, so the deadline is what stops a hung COPY', () => {
    expect(ExtractSettingsSchema.parse({}).statementTimeoutMs).toBeGreaterThan(FUNCTIONS.extract.timeoutSeconds * 1000);
    expect(DELIVERY_STATEMENT_DEADLINE_MS).toBeLessThan(FUNCTIONS.extract.timeoutSeconds * 1000);
  });

  it('a COPY still running at the delivery deadline is cancelled by PostgreSQL: source_timeout, transient, recorded like any failure', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-deadline-'));
    try {
      const [entry] = registryFor([{ db, municipalities: [M] }]).municipalities;
      const log = new CapturedLog();
      const t0 = Date.now();
      const err = await extractMunicipality(
        {
          store: new FsObjectStore(dir),
          secrets: { resolve: async () => db.readerPassword, pseudonymKey: async () => TEST_KEY },
          municipality: () => entry,
          // The slow table after a fast one: the cap is what the delivery has LEFT, not a fixed value.
          tables: PEC_TABLES.filter((t) => t.name === 'tb_dim_equipe' || t.name === 'tb_fat_cidadao_pec'),
          clock: systemClock,
          logger: createLogger({ service: 'test', destination: log }),
          settings: { ...ExtractSettingsSchema.parse({}), applicationName: 'pec-deadline-test' },
          statementDeadlineMs: 4_000,
        },
        { runId: 'daily-20261121', municipality: M.ibge, window: { start: '2026-10-01', end: '2026-11-21' }, trigger: 'daily', loadWhenDone: false },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      const seconds = (Date.now() - t0) / 1000;
      expect(err).toBeInstanceOf(PipelineError);
      expect({ errorClass: (err as PipelineError).errorClass, transient: (err as PipelineError).transient }).toEqual({ errorClass: 'source_timeout', transient: true });
      expect((err as Error).message).toMatch(/57014/);
      // Cancelled at the deadline (4 s after the start, on a busy machine a little later), not after 40 rows × 1 s.
      expect(seconds).toBeLessThan(20);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
