import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { readManifest } from '../../shared/records/bucket-records';
import { layout } from '../../shared/records/layout';
import { testServerPort, testServerUrl, type TestDatabase } from '../support/pg';
import { TcpProxy } from '../support/tcp-proxy';
import {
  alertsOf,
  buildReference,
  diffFromReference,
  duplicateKeys,
  expectSameAsReference,
  FaultLab,
  findLeaks,
  HOUR,
  ledgerRow,
  logLines,
  municipalityOf,
  personalDataOf,
  REQUEST,
  removeDir,
  secretsOf,
  seedSource,
  type Reference,
} from './support/harness';

/**
 * Faults of the municipal source: unreachable, refused credentials, the connection cut in the
 * middle of a COPY (by the network, and by the server), statement and lock timeouts, a stale PEC
 * data warehouse, and schema drift. Each case runs the real pipeline (fan-out → extract → load on
 * the in-process bus, the daily workflow) over real PostgreSQL, injects one fault into Campinas's source
 * only, lets the pipeline recover (redelivery, or the operator's fix and a rerun), and compares the
 * final warehouse with one clean run's, row by row.
 */
const CAMPINAS = { ibge: '3509502', name: 'Campinas', uf: 'SP' as const };
const CURITIBA = { ibge: '4106902', name: 'Curitiba', uf: 'PR' as const };
const PONTA_GROSSA = { ibge: '4119905', name: 'Ponta Grossa', uf: 'PR' as const };

describe('faults of the source database', () => {
  const lab = new FaultLab();
  let campinas: TestDatabase;
  let parana: TestDatabase;
  let ref: Reference;
  let personal: string[];
  /** Campinas through `port` (a fault proxy) when given; the Paraná installation always direct. */
  const sources = (port?: number) => [
    { db: campinas, municipalities: [CAMPINAS], ...(port ? { port } : {}) },
    { db: parana, municipalities: [CURITIBA, PONTA_GROSSA] },
  ];
  const proxies: TcpProxy[] = [];
  async function proxy(): Promise<TcpProxy> {
    const p = new TcpProxy(testServerPort());
    await p.up();
    proxies.push(p);
    return p;
  }

  beforeAll(async () => {
    campinas = await seedSource('faults_src_a', 101, [CAMPINAS]);
    parana = await seedSource('faults_src_b', 102, [CURITIBA, PONTA_GROSSA], { pecVersion: '5.2' });
    ref = await buildReference(lab, sources());
    personal = await personalDataOf([campinas, parana]);
  }, 120_000);
  afterAll(async () => {
    for (const p of proxies) await p.down();
    await campinas?.drop();
    await parana?.drop();
    removeDir(ref?.dir);
  });

  it('source unreachable (connection refused): redelivered with backoff, ledger says source_unreachable, then the same warehouse', async () => {
    const net = await proxy();
    await net.down(); // nothing listens: ECONNREFUSED
    const p = await lab.pipeline(sources(net.port), {
      // The VPN comes back after the first failed attempt.
      onEvent: async (e) => {
        if (e.kind === 'extract_failed' && e.municipality === CAMPINAS.ibge) await net.up();
      },
    });
    try {
      const run = await p.runOnce(REQUEST);
      expect(run.extracted.sort()).toEqual(ref.municipalities);
      expect(p.ledgerAtFailures).toEqual([
        expect.objectContaining({ event: 'extract_failed', municipality: CAMPINAS.ibge, status: 'retrying', error_class: 'source_unreachable', attempts: 1 }),
      ]);
      expect(p.ledgerAtFailures[0]!.error_message).toMatch(/ECONNREFUSED/);
      const warn = logLines(p).filter((l) => l.severity === 'WARNING' && l.errorClass === 'source_unreachable');
      expect(warn.map(municipalityOf)).toEqual([CAMPINAS.ibge]);
      expect(await ledgerRow(p.warehouse, run.runId, CAMPINAS.ibge)).toMatchObject({ status: 'loaded', attempts: 2, error_class: null });
      expect(p.bus.deadLetters).toEqual([]);
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await p.dispose();
    }
  });

  it("server full (a real 53300 from PostgreSQL: the role's connection limit reached): source_unreachable, transient, redelivered; then the same warehouse", async () => {
    // CONNECTION LIMIT 0 makes the server itself refuse the reader's connection with SQLSTATE 53300
    // (too_many_connections), as a PEC whose max_connections is used up by the clinics would.
    const limit = (n: number) => campinas.client.query(`ALTER ROLE ${campinas.readerRole} CONNECTION LIMIT ${n}`);
    await limit(0);
    const p = await lab.pipeline(sources(), {
      // The clinics' connections go away after the first failed attempt.
      onEvent: async (e) => {
        if (e.kind === 'extract_failed' && e.municipality === CAMPINAS.ibge) await limit(-1);
      },
    });
    try {
      const run = await p.runOnce(REQUEST);
      expect(p.ledgerAtFailures).toEqual([
        expect.objectContaining({ event: 'extract_failed', municipality: CAMPINAS.ibge, status: 'retrying', error_class: 'source_unreachable', attempts: 1 }),
      ]);
      expect(p.ledgerAtFailures[0]!.error_message).toMatch(/^source error 53300: too many connections for role/);
      expect(await ledgerRow(p.warehouse, run.runId, CAMPINAS.ibge)).toMatchObject({ status: 'loaded', attempts: 2, error_class: null });
      expect(p.bus.deadLetters).toEqual([]);
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await limit(-1);
      await p.dispose();
    }
  });

  it('authentication refused: source_auth, dead-lettered at once (one delivery), the others load; password fixed + rerun gives the same warehouse', async () => {
    const p = await lab.pipeline(sources());
    const secretFile = path.join(p.paths.secrets, `pw-${campinas.name}`);
    const wrong = 'wrong-password-7f3a9c21e4';
    fs.writeFileSync(secretFile, wrong);
    try {
      const run = await p.runOnce(REQUEST);
      expect(run.workflow.failed).toEqual([CAMPINAS.ibge]);
      // Terminal: exactly one delivery, dead-lettered with its class, no retry storm.
      const message = p.bus.published.find((m) => m.topic === 'extractRequests' && JSON.parse(m.data.toString()).municipality === CAMPINAS.ibge)!;
      expect(p.deliveries.filter((d) => d.messageId === message.messageId).map((d) => [d.subscription, d.attempt])).toEqual([['extract', 1]]);
      expect(p.events.filter((e) => e.kind === 'extract_started' && e.municipality === CAMPINAS.ibge)).toHaveLength(1);
      expect(p.bus.deadLetters.map((d) => [d.attributes.errorClass, d.attributes.sourceHandler])).toEqual([['source_auth', 'extract']]);
      expect(p.bus.deadLetters[0]!.attributes.errorMessage).toMatch(/28P01/);
      const errors = logLines(p).filter((l) => l.severity === 'ERROR' && l.errorClass === 'source_auth');
      expect(errors).toHaveLength(1);
      expect(errors[0]!.message).toMatch(/dead-lettered, not retried/);
      // The ledger: failed with the class, an alert; the other municipalities of the run loaded.
      expect(await ledgerRow(p.warehouse, run.runId, CAMPINAS.ibge)).toMatchObject({ status: 'failed', error_class: 'source_auth', attempts: 1 });
      expect(await alertsOf(p.warehouse, run.runId)).toEqual([['municipality_failed', 'ERROR', CAMPINAS.ibge]]);
      expect(await diffFromReference(p.warehouse, ref, { municipalities: [CURITIBA.ibge, PONTA_GROSSA.ibge] })).toEqual({});
      const [none] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.tb_fat_cidadao_pec WHERE _municipality_ibge = $1`, [CAMPINAS.ibge]);
      expect(none!.n).toBe(0);

      // The operator fixes the secret and reruns the municipality.
      fs.writeFileSync(secretFile, campinas.readerPassword);
      const rerun = await p.runOnce({ trigger: 'rerun', municipalities: [CAMPINAS.ibge], ...REQUEST });
      expect(rerun.extracted).toEqual([CAMPINAS.ibge]);
      expect(await ledgerRow(p.warehouse, rerun.runId, CAMPINAS.ibge)).toMatchObject({ status: 'loaded', error_class: null });
      await expectSameAsReference(p.warehouse, ref);
      expect(
        findLeaks(
          [
            ['log', p.log.lines.join('\n')],
            ['dead letters', JSON.stringify(p.bus.deadLetters)],
          ],
          [wrong, campinas.readerPassword],
        ),
      ).toEqual([]);
    } finally {
      await p.dispose();
    }
  });

  it("PostgreSQL's row count (CommandComplete) arrives long after the COPY's data ended: the extraction waits for it, first delivery, same warehouse", async () => {
    const net = await proxy();
    // Every table's CopyDone reaches the client at once, its CommandComplete 150 ms later: longer than a
    // small table's part takes to finish, so a row count read when the stream ends would still be 0.
    net.holdAfterCopyDone(150);
    const p = await lab.pipeline(sources(net.port));
    try {
      const run = await p.runOnce(REQUEST);
      expect(p.ledgerAtFailures).toEqual([]);
      expect(await ledgerRow(p.warehouse, run.runId, CAMPINAS.ibge)).toMatchObject({ status: 'loaded', attempts: 1 });
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await p.dispose();
    }
  });

  it('connection cut by the network in the middle of a COPY: transient, redelivered, no partial table lands', async () => {
    const net = await proxy();
    // Past the catalogue queries (~20 kB), inside the first COPY's data (tb_dim_tempo, ~100 kB).
    net.killAfterServerBytes(60_000);
    let lastStatementAtCut = '';
    const p = await lab.pipeline(sources(net.port), {
      onEvent: (e) => {
        if (e.kind === 'extract_failed' && e.municipality === CAMPINAS.ibge) lastStatementAtCut = net.statements.at(-1) ?? '';
      },
    });
    try {
      const run = await p.runOnce(REQUEST);
      expect(lastStatementAtCut).toMatch(/^COPY \(SELECT /);
      expect(p.ledgerAtFailures.map((s) => [s.municipality, s.status, s.error_class])).toEqual([[CAMPINAS.ibge, 'retrying', 'source_unreachable']]);
      expect(await ledgerRow(p.warehouse, run.runId, CAMPINAS.ibge)).toMatchObject({ status: 'loaded', attempts: 2 });
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await p.dispose();
    }
  });

  it('backend terminated by the server mid-extraction (57P01, right after a part of a COPY): redelivered, the orphaned part is never loaded', async () => {
    const admin = new Client({ connectionString: testServerUrl() });
    await admin.connect();
    let killed = '';
    const p = await lab.pipeline(sources(), {
      settings: { partMaxBytes: 4096 },
      // When the first part of Campinas's citizens is committed, the DBA kills the extractor's backend.
      storeBeforeCommit: async (key) => {
        if (!killed && key.includes(`/tb_fat_cidadao_pec/${CAMPINAS.ibge}-`) && key.endsWith('part-00000.csv.gz')) {
          killed = key;
          const { rows } = await admin.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'pec-pipeline-extract' AND datname = $1`, [
            campinas.name,
          ]);
          expect(rows).toEqual([{ ok: true }]);
        }
      },
    });
    try {
      const run = await p.runOnce(REQUEST);
      expect(killed).not.toBe('');
      expect(p.ledgerAtFailures.map((s) => [s.municipality, s.status, s.error_class])).toEqual([[CAMPINAS.ibge, 'retrying', 'source_unreachable']]);
      expect(p.ledgerAtFailures[0]!.error_message).toMatch(/^source error 57P01: terminating connection due to administrator command/);
      // The killed attempt's parts are still in the bucket, but the manifest names another attempt.
      expect(await p.store.list(killed)).toEqual([killed]);
      const manifest = (await readManifest(p.store, run.runId, CAMPINAS.ibge))!;
      const keys = manifest.tables.flatMap((t) => t.parts.map((x) => x.key));
      expect(keys.every((k) => k.includes(`-${manifest.attempt}-part-`))).toBe(true);
      expect(keys).not.toContain(killed);
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await p.dispose();
      await admin.end();
    }
  });

  it('statement timeout (57014) on a slow table: source_timeout, redelivered once the source is fast again', async () => {
    const c = campinas.client;
    await c.query(`
      BEGIN;
      CREATE FUNCTION slow_row() RETURNS boolean LANGUAGE plpgsql VOLATILE AS 'BEGIN PERFORM pg_sleep(0.05); RETURN true; END';
      ALTER TABLE tb_fat_cidadao_pec RENAME TO tb_fat_cidadao_pec_real;
      CREATE VIEW tb_fat_cidadao_pec AS SELECT * FROM tb_fat_cidadao_pec_real WHERE slow_row();
      GRANT SELECT ON tb_fat_cidadao_pec TO ${campinas.readerRole};
      COMMIT;`);
    let slow = true;
    const restore = async () => {
      if (slow) await c.query(`BEGIN; DROP VIEW tb_fat_cidadao_pec; DROP FUNCTION slow_row(); ALTER TABLE tb_fat_cidadao_pec_real RENAME TO tb_fat_cidadao_pec; COMMIT;`);
      slow = false;
    };
    const p = await lab.pipeline(sources(), {
      settings: { statementTimeoutMs: 1_500 },
      onEvent: async (e) => {
        if (e.kind === 'extract_failed' && e.municipality === CAMPINAS.ibge) await restore();
      },
    });
    try {
      const run = await p.runOnce(REQUEST);
      expect(p.ledgerAtFailures.map((s) => [s.municipality, s.status, s.error_class])).toEqual([[CAMPINAS.ibge, 'retrying', 'source_timeout']]);
      expect(p.ledgerAtFailures[0]!.error_message).toMatch(/source error 57014: canceling statement due to statement timeout/);
      expect(await ledgerRow(p.warehouse, run.runId, CAMPINAS.ibge)).toMatchObject({ status: 'loaded', attempts: 2 });
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await restore();
      await p.dispose();
    }
  });

  it('lock timeout (55P03) behind an exclusive lock (a PEC migration): source_timeout, redelivered after the lock goes', async () => {
    const locker = new Client({ connectionString: campinas.url });
    await locker.connect();
    await locker.query('BEGIN; LOCK TABLE tb_fat_vacinacao IN ACCESS EXCLUSIVE MODE');
    let locked = true;
    const release = async () => {
      if (locked) await locker.query('COMMIT');
      locked = false;
    };
    const p = await lab.pipeline(sources(), {
      settings: { lockTimeoutMs: 300 },
      onEvent: async (e) => {
        if (e.kind === 'extract_failed' && e.municipality === CAMPINAS.ibge) await release();
      },
    });
    try {
      const run = await p.runOnce(REQUEST);
      expect(p.ledgerAtFailures.map((s) => [s.municipality, s.status, s.error_class])).toEqual([[CAMPINAS.ibge, 'retrying', 'source_timeout']]);
      expect(p.ledgerAtFailures[0]!.error_message).toMatch(/source error 55P03/);
      expect(await ledgerRow(p.warehouse, run.runId, CAMPINAS.ibge)).toMatchObject({ status: 'loaded', attempts: 2 });
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await release();
      await locker.end();
      await p.dispose();
    }
  });

  it("the source's DW is stale: the data still loads, the ledger and a stale_source alert flag that municipality only", async () => {
    const c = campinas.client;
    await c.query(`UPDATE tb_relatorio_processamento SET dt_processamento = dt_processamento - interval '10 days'`);
    const p = await lab.pipeline(sources());
    try {
      const run = await p.runOnce(REQUEST);
      await expectSameAsReference(p.warehouse, ref);
      const row = await ledgerRow(p.warehouse, run.runId, CAMPINAS.ibge);
      expect(row).toMatchObject({ status: 'loaded', error_class: null });
      const ageHours = (Date.now() - Date.parse(`${String(row!.dw_processed_at)}Z`)) / HOUR;
      expect(ageHours).toBeGreaterThan(10 * 24);
      expect(await alertsOf(p.warehouse, run.runId)).toEqual([['stale_source', 'ERROR', CAMPINAS.ibge]]);
      const alertLines = logLines(p).filter((l) => l.alert === 'pec-pipeline');
      expect(alertLines.map((l) => [l.rule, l.severity, l.municipality])).toEqual([['stale_source', 'ERROR', CAMPINAS.ibge]]);
      expect(alertLines[0]!.message).toMatch(/source data warehouse is stale .* threshold 26 h/);
    } finally {
      await c.query(`UPDATE tb_relatorio_processamento SET dt_processamento = dt_processamento + interval '10 days'`);
      await p.dispose();
    }
  });

  it('schema drift: a renamed whenMissing:null column lands as NULL with a WARNING; a dropped required column fails that table alone, never the municipality', async () => {
    const p = await lab.pipeline(sources());
    try {
      const daily = await p.runOnce(REQUEST);
      await expectSameAsReference(p.warehouse, ref);
      // A PEC upgrade renames a blood-pressure column (not an alias the registry knows) and drops the lot number.
      await campinas.client.query(`ALTER TABLE tb_fat_atendimento_individual RENAME COLUMN nu_pressao_sistolica TO nu_pas_aferida`);
      await campinas.client.query(`ALTER TABLE tb_fat_vacinacao_vacina DROP COLUMN no_lote`);
      const rerun = await p.runOnce({ trigger: 'rerun', municipalities: [CAMPINAS.ibge], ...REQUEST });
      expect(rerun.extracted).toEqual([CAMPINAS.ibge]);

      const manifest = (await readManifest(p.store, rerun.runId, CAMPINAS.ibge))!;
      expect(manifest.failedTables).toEqual([expect.objectContaining({ table: 'tb_fat_vacinacao_vacina', errorClass: 'source_schema' })]);
      expect(manifest.failedTables[0]!.message).toMatch(/no_lote/);
      expect(manifest.tables.find((t) => t.table === 'tb_fat_atendimento_individual')!.warnings).toEqual([
        'tb_fat_atendimento_individual.nu_pressao_sistolica is absent from this PEC version: filled with NULL',
      ]);
      const lines = logLines(p);
      expect(lines.filter((l) => l.severity === 'WARNING' && /filled with NULL/.test(l.message)).map((l) => l.table)).toEqual(['tb_fat_atendimento_individual']);
      expect(lines.filter((l) => l.severity === 'WARNING' && l.errorClass === 'source_schema').map((l) => l.table)).toEqual(['tb_fat_vacinacao_vacina']);

      // Warehouse: the NULL-filled column is NULL for Campinas; every other value equals the clean run;
      // the failed table keeps its last good slice (the daily run's), nothing else of the municipality failed.
      const [bp] = await p.warehouse.query(
        `SELECT count(nu_pressao_sistolica)::INTEGER AS campinas, (SELECT count(nu_pressao_sistolica) FROM raw.tb_fat_atendimento_individual WHERE _municipality_ibge <> $1)::INTEGER AS others
         FROM raw.tb_fat_atendimento_individual WHERE _municipality_ibge = $1`,
        [CAMPINAS.ibge],
      );
      expect(bp!.campinas).toBe(0);
      expect(bp!.others).toBeGreaterThan(0);
      expect(await diffFromReference(p.warehouse, ref, { ignoreColumns: { tb_fat_atendimento_individual: ['nu_pressao_sistolica'] } })).toEqual({});
      expect(await duplicateKeys(p.warehouse)).toEqual([]);
      const runs = await p.warehouse.query(`SELECT DISTINCT _run_id AS r FROM raw.tb_fat_vacinacao_vacina WHERE _municipality_ibge = $1`, [CAMPINAS.ibge]);
      expect(runs).toEqual([{ r: daily.runId }]);
      const [cid] = await p.warehouse.query(`SELECT DISTINCT _run_id AS r FROM raw.tb_fat_cidadao_pec WHERE _municipality_ibge = $1`, [CAMPINAS.ibge]);
      expect(cid).toEqual({ r: rerun.runId });

      // The ledger shows the failed table: reconciliation, the municipality's class, an alert.
      const recon = await p.warehouse.query(`SELECT table_name, status FROM ops.reconciliation WHERE run_id = $1 AND status <> 'match'`, [rerun.runId]);
      expect(recon).toEqual([{ table_name: 'tb_fat_vacinacao_vacina', status: 'extract_failed' }]);
      expect(await ledgerRow(p.warehouse, rerun.runId, CAMPINAS.ibge)).toMatchObject({ status: 'loaded', error_class: 'source_schema' });
      expect(await alertsOf(p.warehouse, rerun.runId)).toEqual([['table_failed', 'ERROR', CAMPINAS.ibge]]);
      expect(fs.existsSync(path.join(p.paths.bucket, layout.failure(rerun.runId, CAMPINAS.ibge)))).toBe(false);
    } finally {
      // Undo the rename (the dropped lot numbers stay dropped: this is the file's last source fault).
      await campinas.client.query(`ALTER TABLE tb_fat_atendimento_individual RENAME COLUMN nu_pas_aferida TO nu_pressao_sistolica`).catch(() => {});
      await p.dispose();
    }
  });

  it('no secret and no clear-text personal data in any log line or dead letter of this file', () => {
    expect(lab.logLines.length).toBeGreaterThan(100);
    expect(personal.length).toBeGreaterThan(300);
    const leaks = findLeaks(
      [
        ['logs', lab.logLines.join('\n')],
        ['dead letters', lab.deadLetterTexts.join('\n')],
      ],
      [...secretsOf([campinas, parana]), ...personal],
    );
    expect(leaks).toEqual([]);
  });
});
