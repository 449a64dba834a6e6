import { readManifest } from '../../shared/records/bucket-records';
import { layout } from '../../shared/records/layout';
import type { Manifest } from '../../shared/contracts/manifest';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { testServerPort, type TestDatabase } from '../support/pg';
import { TcpProxy } from '../support/tcp-proxy';
import {
  alertsOf,
  buildReference,
  diffFromReference,
  duplicateKeys,
  expectSameAsReference,
  FaultLab,
  findLeaks,
  ledgerRow,
  logLines,
  municipalityOf,
  personalDataOf,
  REQUEST,
  RUN_DATE,
  removeDir,
  secretsOf,
  seedSource,
  waitFor,
  WINDOW,
  type Reference,
} from './support/harness';

/**
 * Pub/Sub's delivery semantics turned against the pipeline: every message delivered three times,
 * loads arriving out of order, a rerun arriving while the daily run is extracting, a time budget
 * exhausted mid-municipality (with its continuations delivered twice), and a source that never
 * comes back (dead-lettered after exactly maxDeliveryAttempts, with backoff, then rerun).
 */
const SOROCABA = { ibge: '3552205', name: 'Sorocaba', uf: 'SP' as const };
const CURITIBA = { ibge: '4106902', name: 'Curitiba', uf: 'PR' as const };
const PONTA_GROSSA = { ibge: '4119905', name: 'Ponta Grossa', uf: 'PR' as const };
const ALL = [SOROCABA.ibge, CURITIBA.ibge, PONTA_GROSSA.ibge].sort();

describe('faults of message delivery', () => {
  const lab = new FaultLab();
  let sorocaba: TestDatabase;
  let parana: TestDatabase;
  let ref: Reference;
  const sources = (port?: number) => [
    { db: sorocaba, municipalities: [SOROCABA], ...(port ? { port } : {}) },
    { db: parana, municipalities: [CURITIBA, PONTA_GROSSA] },
  ];

  beforeAll(async () => {
    sorocaba = await seedSource('faults_msg_a', 301, [SOROCABA]);
    parana = await seedSource('faults_msg_b', 302, [CURITIBA, PONTA_GROSSA]);
    ref = await buildReference(lab, sources());
  }, 120_000);
  afterAll(async () => {
    await sorocaba?.drop();
    await parana?.drop();
    removeDir(ref?.dir);
  });

  it('every message delivered 3 times (run, extract, load): one manifest per municipality, each slice loaded once, the same warehouse', async () => {
    const staged: { municipality: string; attempt: string; alreadyDone: boolean }[] = [];
    const p = await lab.pipeline(sources(), {
      onEvent: (e) => {
        if (e.kind === 'extract_staged') staged.push({ municipality: e.municipality, attempt: e.manifest.attempt, alreadyDone: e.alreadyDone });
      },
    });
    p.bus.duplicate = (m) => (m.topic === 'deadLetter' ? 1 : 3);
    try {
      const run = await p.runOnce(REQUEST);
      await p.drain();
      expect(run.extracted.sort()).toEqual(ALL);
      // Three deliveries of every extract message; the first commit wins, the others find it.
      for (const m of ALL) {
        const mine = staged.filter((s) => s.municipality === m);
        expect(mine).toHaveLength(3);
        expect(mine.filter((s) => !s.alreadyDone)).toHaveLength(1);
        const manifest = (await readManifest(p.store, run.runId, m))!;
        expect(new Set(mine.map((s) => s.attempt))).toEqual(new Set([manifest.attempt]));
      }
      expect(await p.store.list(layout.manifestsPrefix(run.runId))).toHaveLength(3);
      // Three deliveries of the fan-in load: the first loads every slice, the others change nothing.
      const loads = p.events.filter((e) => e.kind === 'load_finished');
      expect(loads).toHaveLength(3);
      const outcomes = loads.flatMap((e) => (e.kind === 'load_finished' ? e.outcomes : []));
      expect(outcomes.filter((o) => o.status === 'loaded')).toHaveLength(PEC_TABLES.length * 3);
      expect(outcomes.filter((o) => o.status === 'already_loaded')).toHaveLength(PEC_TABLES.length * 3 * 2);
      const [slices] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM ops.loaded_slices`);
      expect(slices!.n).toBe(PEC_TABLES.length * 3);
      expect(p.bus.deadLetters).toEqual([]);
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await p.dispose();
    }
  });

  it('loads out of order: an older extraction loaded after a newer one is refused as stale; the warehouse keeps the newer data', async () => {
    const p = await lab.pipeline(sources());
    const ids = `SELECT co_seq_dim_municipio FROM tb_dim_municipio WHERE co_ibge = '${SOROCABA.ibge}'`;
    const weight = async () =>
      Number(
        (
          await sorocaba.client.query(
            `SELECT sum(nu_peso) AS s FROM tb_fat_atendimento_individual WHERE co_dim_municipio IN (${ids}) AND co_dim_tempo >= 20260801 AND co_dim_tempo < 20261122`,
          )
        ).rows[0].s,
      );
    try {
      // An older extraction (e.g. yesterday's, or a backfill chunk) …
      const older = await p.publishRunRequest({ trigger: 'daily', runDate: '2026-11-20', window: WINDOW, municipalities: [SOROCABA.ibge] });
      // … the source changes (weights corrected; ×2 and ÷2 are exact in floating point, so the
      // source is restored bit for bit afterwards) and a newer extraction reads it.
      await sorocaba.client.query(`UPDATE tb_fat_atendimento_individual SET nu_peso = nu_peso * 2 WHERE co_dim_municipio IN (${ids})`);
      const newWeight = await weight();
      let newer;
      try {
        newer = await p.publishRunRequest({ trigger: 'daily', runDate: RUN_DATE, window: WINDOW, municipalities: [SOROCABA.ibge] });
      } finally {
        await sorocaba.client.query(`UPDATE tb_fat_atendimento_individual SET nu_peso = nu_peso / 2 WHERE co_dim_municipio IN (${ids})`);
      }
      expect([older.extracted, newer.extracted]).toEqual([[SOROCABA.ibge], [SOROCABA.ibge]]);
      const olderManifest = (await readManifest(p.store, older.runId, SOROCABA.ibge)) as Manifest;
      const newerManifest = (await readManifest(p.store, newer.runId, SOROCABA.ibge)) as Manifest;
      expect(Date.parse(olderManifest.extractedAt)).toBeLessThan(Date.parse(newerManifest.extractedAt));

      // The loads arrive newest first.
      await p.bus.publish('loadRequests', { runId: newer.runId, municipalities: [SOROCABA.ibge] });
      await p.drain();
      await p.bus.publish('loadRequests', { runId: older.runId, municipalities: [SOROCABA.ibge] });
      await p.drain();
      const [first, second] = p.events.filter((e) => e.kind === 'load_finished');
      expect(first!.kind === 'load_finished' && first!.outcomes.every((o) => o.status === 'loaded')).toBe(true);
      expect(second!.kind === 'load_finished' && second!.outcomes.map((o) => o.status)).toEqual(PEC_TABLES.map(() => 'stale'));

      // The warehouse holds the newer extraction: every row from it, with the corrected weights.
      for (const t of PEC_TABLES) {
        const runs = await p.warehouse.query(`SELECT DISTINCT _run_id AS r FROM raw."${t.name}" WHERE _municipality_ibge = $1`, [SOROCABA.ibge]);
        expect({ t: t.name, runs }).toEqual({ t: t.name, runs: [{ r: newer.runId }] });
      }
      const [w] = await p.warehouse.query(`SELECT sum(nu_peso) AS s FROM raw.tb_fat_atendimento_individual WHERE _municipality_ibge = $1`, [SOROCABA.ibge]);
      expect(Number(w!.s)).toBeCloseTo(newWeight, 6);
      expect(await diffFromReference(p.warehouse, ref, { municipalities: [SOROCABA.ibge], ignoreColumns: { tb_fat_atendimento_individual: ['nu_peso'] } })).toEqual({});
      expect(await duplicateKeys(p.warehouse)).toEqual([]);

      // The ledger says so: the older run's slices are superseded, the newer one's match. (A run whose
      // slices were all refused loaded nothing, so only a report by id covers it: finalizeOnly + runId.)
      await p.finalize(older.runId);
      await p.finalize(newer.runId);
      const recon = await p.warehouse.query(`SELECT run_id, status, count(*)::INTEGER AS n FROM ops.reconciliation GROUP BY ALL ORDER BY ALL`);
      expect(recon).toEqual(
        [
          { run_id: older.runId, status: 'superseded', n: PEC_TABLES.length },
          { run_id: newer.runId, status: 'match', n: PEC_TABLES.length },
        ].sort((a, b) => a.run_id.localeCompare(b.run_id)),
      );
    } finally {
      await p.dispose();
    }
  });

  it('a rerun arriving while the daily run extracts the same municipality: both finish, the newer extraction wins, the same warehouse', async () => {
    let rerunMessage: string | undefined;
    const p = await lab.pipeline(sources(), {
      onEvent: async (e) => {
        if (e.kind === 'extract_started' && e.runId === 'daily-20261121' && e.municipality === SOROCABA.ibge && !rerunMessage)
          rerunMessage = await p.bus.publish('runRequests', { trigger: 'rerun', municipalities: [SOROCABA.ibge], ...REQUEST });
      },
    });
    try {
      const daily = await p.runOnce(REQUEST);
      await p.drain(); // the rerun may still be extracting or loading when the workflow ends
      await p.finalize(null);
      expect(rerunMessage).toBeDefined();
      const rerunId = (await p.warehouse.query(`SELECT run_id FROM ops.runs WHERE trigger = 'rerun'`))[0]!.run_id as string;
      expect(daily.extracted.sort()).toEqual(ALL);
      expect(await readManifest(p.store, rerunId, SOROCABA.ibge)).toBeDefined();
      // Both runs are reported as succeeded; Sorocaba's rows all come from one extraction (the newer).
      const runs = await p.warehouse.query(`SELECT run_id, status FROM ops.runs ORDER BY run_id`);
      expect(runs).toEqual([
        { run_id: daily.runId, status: 'succeeded' },
        { run_id: rerunId, status: 'succeeded' },
      ]);
      const sources = new Set<string>();
      for (const t of PEC_TABLES)
        for (const r of await p.warehouse.query(`SELECT DISTINCT _run_id AS r FROM raw."${t.name}" WHERE _municipality_ibge = $1`, [SOROCABA.ibge])) sources.add(String(r.r));
      expect(sources.size).toBe(1);
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await p.dispose();
    }
  });

  it('a time budget exhausted mid-municipality: continuations (each delivered twice) complete the work, the same data', async () => {
    const p = await lab.pipeline(sources(), { settings: { timeBudgetMs: 1 } });
    // Continuation messages are messages too: deliver each one twice.
    p.bus.duplicate = (m) => (m.topic === 'extractRequests' && JSON.parse(m.data.toString()).continuation ? 2 : 1);
    try {
      const run = await p.runOnce({ ...REQUEST, municipalities: [SOROCABA.ibge] });
      await p.drain();
      expect(run.extracted).toEqual([SOROCABA.ibge]);
      // Each invocation commits one table before it looks at the clock: one continuation per table.
      const continued = p.events.filter((e) => e.kind === 'extract_continued');
      expect(continued.length).toBeGreaterThanOrEqual(PEC_TABLES.length - 1);
      expect(await p.store.list(layout.checkpointsPrefix(run.runId, SOROCABA.ibge))).toHaveLength(PEC_TABLES.length - 1);
      const manifest = (await readManifest(p.store, run.runId, SOROCABA.ibge))!;
      expect(manifest.tables.map((t) => t.table).sort()).toEqual(PEC_TABLES.map((t) => t.name).sort());
      expect(p.bus.deadLetters).toEqual([]);
      expect(await diffFromReference(p.warehouse, ref, { municipalities: [SOROCABA.ibge] })).toEqual({});
      expect(await duplicateKeys(p.warehouse)).toEqual([]);
      const [slices] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM ops.loaded_slices`);
      expect(slices!.n).toBe(PEC_TABLES.length);
    } finally {
      await p.dispose();
    }
  });

  it('a source down for good: exactly maxDeliveryAttempts deliveries with exponential backoff, then the dead-letter topic and `failed` with its class; rerun once it is back', async () => {
    const net = new TcpProxy(testServerPort());
    await net.up();
    await net.down();
    const p = await lab.pipeline(sources(net.port), {
      subscription: { maxDeliveryAttempts: 5, minBackoffMs: 20, maxBackoffMs: 1_000 },
      timing: { deadlineMs: 2_500, pollEveryMs: 50 },
    });
    try {
      const run = await p.runOnce(REQUEST);
      // Bounded: if the subscription never gave up, this fails instead of waiting forever.
      await waitFor(() => p.bus.deadLetters.length > 0, 10_000, 'the dead letter after maxDeliveryAttempts');
      await p.drain();
      const message = p.bus.published.find((m) => m.topic === 'extractRequests' && JSON.parse(m.data.toString()).municipality === SOROCABA.ibge)!;
      const deliveries = p.deliveries.filter((d) => d.messageId === message.messageId);
      expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3, 4, 5]);
      const gaps = deliveries.slice(1).map((d, i) => d.at - deliveries[i]!.at);
      [20, 40, 80, 160].forEach((backoff, i) => expect(gaps[i]).toBeGreaterThanOrEqual(backoff - 1));
      expect(p.bus.deadLetters.map((d) => [d.subscription, d.deliveryAttempts])).toEqual([['extract', 5]]);
      expect(p.bus.deadLetters[0]!.reason).toMatch(/ECONNREFUSED/);
      const parked = p.bus.published.filter((m) => m.topic === 'deadLetter');
      expect(parked.map((m) => [m.attributes.CloudPubSubDeadLetterSourceSubscription, m.attributes.CloudPubSubDeadLetterSourceDeliveryCount])).toEqual([['extract', '5']]);
      expect(JSON.parse(p.bus.deadLetters[0]!.data.toString())).toMatchObject({ runId: run.runId, municipality: SOROCABA.ibge });
      // Every attempt is visible and classified: a WARNING line each, the ledger row each time.
      const warn = logLines(p).filter((l) => l.severity === 'WARNING' && municipalityOf(l) === SOROCABA.ibge);
      expect(warn.map((l) => l.errorClass)).toEqual(Array(5).fill('source_unreachable'));
      // The last delivery is the final failure (the message is being dead-lettered), not one more retry.
      expect(p.ledgerAtFailures.map((s) => [s.status, s.error_class, s.attempts])).toEqual([1, 2, 3, 4, 5].map((n) => [n < 5 ? 'retrying' : 'failed', 'source_unreachable', n]));
      // The run moves on: the others are loaded, Sorocaba ends failed with ITS class (not "late"), with an alert.
      expect(run.workflow.late).toEqual([]);
      expect(run.workflow.failed).toEqual([SOROCABA.ibge]);
      expect(await ledgerRow(p.warehouse, run.runId, SOROCABA.ibge)).toMatchObject({ status: 'failed', error_class: 'source_unreachable', attempts: 5 });
      expect(await alertsOf(p.warehouse, run.runId)).toEqual([['municipality_failed', 'ERROR', SOROCABA.ibge]]);
      expect(await diffFromReference(p.warehouse, ref, { municipalities: [CURITIBA.ibge, PONTA_GROSSA.ibge] })).toEqual({});

      // The VPN is repaired; the operator reruns the municipality.
      await net.up();
      const rerun = await p.runOnce({ trigger: 'rerun', municipalities: [SOROCABA.ibge], ...REQUEST });
      expect(rerun.extracted).toEqual([SOROCABA.ibge]);
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await net.down();
      await p.dispose();
    }
  });

  it('no secret and no clear-text personal data in any log line or dead letter of this file', async () => {
    expect(lab.logLines.length).toBeGreaterThan(100);
    const personal = await personalDataOf([sorocaba, parana]);
    expect(personal.length).toBeGreaterThan(300);
    expect(
      findLeaks(
        [
          ['logs', lab.logLines.join('\n')],
          ['dead letters', lab.deadLetterTexts.join('\n')],
        ],
        [...secretsOf([sorocaba, parana]), ...personal],
      ),
    ).toEqual([]);
  });
});
