import { bigQueryQueryRunner } from '../../shared/adapters/gcp/bigquery-query';
import { readManifest } from '../../shared/records/bucket-records';
import { layout } from '../../shared/records/layout';
import { runStatus } from '../../shared/run/run-status';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import type { TestDatabase } from '../support/pg';
import {
  alertsOf,
  buildReference,
  expectSameAsReference,
  FaultLab,
  findLeaks,
  ledgerRow,
  logLines,
  personalDataOf,
  REQUEST,
  removeDir,
  secretsOf,
  seedSource,
  type LabPipeline,
  type Reference,
} from './support/harness';
import { ACCESS_DENIED, RATE_LIMIT_EXCEEDED, startRefusingBigQuery, type BigQueryRefusal, type RefusingBigQuery } from './support/bigquery-refusals';

/**
 * Faults of the staging bucket and of the warehouse: a part's upload failing, a crash between the
 * last part and the manifest (the commit record), the load transaction failing before COMMIT, a
 * load refused for rate limits, and a load refused for good until an operator steps in. Each case
 * ends with the warehouse of a clean run, compared row by row.
 */
const SANTOS = { ibge: '3548500', name: 'Santos', uf: 'SP' as const };
const CURITIBA = { ibge: '4106902', name: 'Curitiba', uf: 'PR' as const };
const PONTA_GROSSA = { ibge: '4119905', name: 'Ponta Grossa', uf: 'PR' as const };

describe('faults of the object store and the warehouse', () => {
  const lab = new FaultLab();
  let santos: TestDatabase;
  let parana: TestDatabase;
  let ref: Reference;
  const sources = () => [
    { db: santos, municipalities: [SANTOS] },
    { db: parana, municipalities: [CURITIBA, PONTA_GROSSA] },
  ];

  beforeAll(async () => {
    santos = await seedSource('faults_store_a', 201, [SANTOS]);
    parana = await seedSource('faults_store_b', 202, [CURITIBA, PONTA_GROSSA]);
    ref = await buildReference(lab, sources());
  }, 120_000);
  afterAll(async () => {
    await santos?.drop();
    await parana?.drop();
    removeDir(ref?.dir);
  });

  /** Raw rows and slice-ledger rows in the warehouse right now. */
  async function committed(p: LabPipeline): Promise<{ raw: number; slices: number }> {
    let raw = 0;
    for (const t of PEC_TABLES) raw += Number((await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw."${t.name}"`))[0]!.n);
    const [s] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM ops.loaded_slices`);
    return { raw, slices: Number(s!.n) };
  }

  it('a part upload fails before it is committed: storage error, redelivered, the failed object never exists, the same warehouse', async () => {
    let failedKey = '';
    const p = await lab.pipeline(sources(), {
      settings: { partMaxBytes: 4096 },
      storeBeforeCommit: (key) => {
        // Other tables' parts are already committed: the extraction fails half-way through.
        if (!failedKey && key.includes(`/tb_fat_atendimento_individual/${SANTOS.ibge}-`) && key.endsWith('part-00000.csv.gz')) {
          failedKey = key;
          throw new Error('injected: 503 Service Unavailable while finalizing the upload');
        }
      },
    });
    try {
      const run = await p.runOnce(REQUEST);
      expect(failedKey).not.toBe('');
      // The snapshot is taken when the ledger has recorded the failure, which can queue behind a load
      // wave on the warehouse's single connection: wait for it (bounded), don't race it.
      for (const until = Date.now() + 15_000; p.ledgerAtFailures.length === 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 50));
      expect(p.ledgerAtFailures.map((s) => [s.event, s.municipality, s.status, s.error_class])).toEqual([['extract_failed', SANTOS.ibge, 'retrying', 'storage']]);
      expect(p.ledgerAtFailures[0]!.error_message).toMatch(/object store: injected: 503/);
      expect(await p.store.list(failedKey)).toEqual([]); // no partial object, ever
      const manifest = (await readManifest(p.store, run.runId, SANTOS.ibge))!;
      expect(manifest.tables.flatMap((t) => t.parts).every((x) => x.key.includes(`-${manifest.attempt}-part-`))).toBe(true);
      expect(await ledgerRow(p.warehouse, run.runId, SANTOS.ibge)).toMatchObject({ status: 'loaded', attempts: 2, error_class: null });
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await p.dispose();
    }
  });

  it('a crash between the last part and the manifest: not extracted until a redelivery commits a manifest; orphaned parts never load', async () => {
    const manifestKey = layout.manifest('daily-20261121', SANTOS.ibge);
    let atCrash: { parts: string[]; state?: string } | undefined;
    const p = await lab.pipeline(sources(), {
      storeBeforeCommit: async (key) => {
        if (key === manifestKey && !atCrash) {
          atCrash = { parts: await p.store.list(`runs/daily-20261121/tables/`).then((ks) => ks.filter((k) => k.includes(`/${SANTOS.ibge}-`))) };
          throw new Error('injected: instance lost before the manifest was written');
        }
      },
      onEvent: async (e) => {
        // What the workflow sees right after the crash: still pending, not done.
        if (e.kind === 'extract_failed' && atCrash)
          atCrash.state = (await runStatus(p.store, { runId: e.runId }, { now: new Date() }))!.municipalities.find((m) => m.ibge === SANTOS.ibge)!.state;
      },
    });
    try {
      const run = await p.runOnce(REQUEST);
      // Every table's last part was written, then the instance died.
      expect(atCrash!.parts.length).toBeGreaterThanOrEqual(PEC_TABLES.length);
      expect(atCrash!.state).toBe('pending');
      expect(p.ledgerAtFailures.map((s) => [s.municipality, s.status, s.error_class])).toEqual([[SANTOS.ibge, 'retrying', 'storage']]);
      const manifest = (await readManifest(p.store, run.runId, SANTOS.ibge))!;
      const committedKeys = new Set(manifest.tables.flatMap((t) => t.parts.map((x) => x.key)));
      expect(atCrash!.parts.some((k) => committedKeys.has(k))).toBe(false); // the first attempt's parts are orphans
      expect(await ledgerRow(p.warehouse, run.runId, SANTOS.ibge)).toMatchObject({ status: 'loaded', attempts: 2 });
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await p.dispose();
    }
  });

  it('the warehouse fails mid-load (before COMMIT): rolled back, nothing half-visible, the load is redelivered and lands once', async () => {
    let failures = 0;
    let visibleAfterFailure: { raw: number; slices: number } | undefined;
    const p = await lab.pipeline(sources(), {
      warehouseBeforeCommit: () => {
        if (failures++ === 0) throw new Error('injected: connection to the warehouse lost during the load');
      },
      onEvent: async (e) => {
        if (e.kind === 'load_failed') visibleAfterFailure = await committed(p);
      },
    });
    try {
      const run = await p.runOnce(REQUEST);
      expect(visibleAfterFailure).toEqual({ raw: 0, slices: 0 });
      expect(p.ledgerAtFailures.map((s) => [s.event, s.municipality, s.status, s.error_class]).sort()).toEqual(
        [SANTOS.ibge, CURITIBA.ibge, PONTA_GROSSA.ibge].sort().map((m) => ['load_failed', m, 'staged', 'warehouse']),
      );
      expect(p.ledgerAtFailures[0]!.error_message).toMatch(/rolled back: injected/);
      const outcomes = p.events.flatMap((e) => (e.kind === 'load_finished' ? e.outcomes : []));
      expect(outcomes.every((o) => o.status === 'loaded')).toBe(true);
      expect(outcomes).toHaveLength(PEC_TABLES.length * 3);
      for (const m of ref.municipalities) expect(await ledgerRow(p.warehouse, run.runId, m)).toMatchObject({ status: 'loaded', error_class: null });
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await p.dispose();
    }
  });

  it('a load that holds the warehouse holds up no extraction: the ledger rows wait for the warehouse, the handlers do not', async () => {
    let curitibaStaged!: () => void;
    const staged = new Promise<void>((resolve) => (curitibaStaged = resolve));
    let santosLoadHeld!: () => void;
    const held = new Promise<void>((resolve) => (santosLoadHeld = resolve));
    let holds = 0;
    let extractedWhileHeld = false;
    const p = await lab.pipeline(sources(), {
      // Santos's load stops inside its transaction until Curitiba is extracted (or 20 s have passed).
      warehouseBeforeCommit: async () => {
        if (holds++ > 0) return;
        santosLoadHeld();
        extractedWhileHeld = await Promise.race([staged.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000))]);
      },
      onEvent: (e) => {
        if (e.kind === 'extract_staged' && e.municipality === CURITIBA.ibge) curitibaStaged();
      },
    });
    try {
      const santos = p.publishRunRequest({ trigger: 'rerun', municipalities: [SANTOS.ibge], ...REQUEST });
      await held;
      const curitiba = await p.publishRunRequest({ trigger: 'rerun', municipalities: [CURITIBA.ibge], ...REQUEST });
      const santosRun = await santos;
      expect(extractedWhileHeld).toBe(true);
      await p.drain();
      expect(await ledgerRow(p.warehouse, santosRun.runId, SANTOS.ibge)).toMatchObject({ status: 'loaded', attempts: 1 });
      expect(await ledgerRow(p.warehouse, curitiba.runId, CURITIBA.ibge)).toMatchObject({ status: 'loaded', attempts: 1 });
    } finally {
      await p.dispose();
    }
  });

  /**
   * Real refusals: a local server answers the real BigQuery client with BigQuery's own status and
   * JSON error body; the pipeline's adapter (bigQueryQueryRunner) and classifier (gcpError) turn it
   * into whatever they turn it into, and the load transaction sees that — no pre-classified error.
   */
  const refusing: RefusingBigQuery[] = [];
  afterAll(async () => {
    for (const r of refusing) await r.close();
  });
  async function bigQueryRefusing(refusal: BigQueryRefusal): Promise<{ call: () => Promise<unknown>; server: RefusingBigQuery }> {
    const server = await startRefusingBigQuery(refusal);
    refusing.push(server);
    const run = bigQueryQueryRunner(server.client, { location: 'southamerica-east1' });
    return { server, call: () => run({ query: 'SELECT 1', params: {} }) };
  }

  it('a load refused for rate limits (a real 403 rateLimitExceeded body): rate_limited, redelivered after backoff, lands once', async () => {
    let refusals = 0;
    const bq = await bigQueryRefusing(RATE_LIMIT_EXCEEDED);
    const p = await lab.pipeline(sources(), {
      warehouseBeforeCommit: async () => {
        if (refusals++ === 0) await bq.call();
      },
    });
    try {
      await p.runOnce(REQUEST);
      expect(new Set(p.ledgerAtFailures.map((s) => `${s.event}:${s.error_class}`))).toEqual(new Set(['load_failed:rate_limited']));
      expect(
        logLines(p)
          .filter((l) => l.severity === 'WARNING' && l.errorClass === 'rate_limited')
          .map((l) => l.handler),
      ).toEqual(['load']);
      const loadDeliveries = p.deliveries.filter((d) => d.subscription === 'load');
      expect(loadDeliveries.map((d) => d.attempt)).toEqual([1, 2]);
      expect(loadDeliveries[1]!.at - loadDeliveries[0]!.at).toBeGreaterThanOrEqual(10); // the subscription's backoff
      expect(p.bus.deadLetters).toEqual([]);
      expect(bq.server.requests).toEqual(['POST /bigquery/v2/projects/test-project/jobs']);
      expect(p.ledgerAtFailures[0]!.error_message).toMatch(/reason rateLimitExceeded/);
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await p.dispose();
    }
  });

  it('a load refused for good: dead-lettered once, the run reports staged-not-loaded; the operator republishes the load and the warehouse is complete', async () => {
    let broken = true;
    // A real 403 accessDenied body: the same status as a rate limit, but the reason says "no retry helps".
    const bq = await bigQueryRefusing(ACCESS_DENIED);
    const p = await lab.pipeline(sources(), {
      timing: { loadTimeoutMs: 1_500 },
      warehouseBeforeCommit: async () => {
        if (broken) await bq.call();
      },
    });
    try {
      const run = await p.runOnce(REQUEST);
      await p.drain();
      expect(run.workflow.loadTimedOut).toBe(true);
      expect(p.deliveries.filter((d) => d.subscription === 'load').map((d) => d.attempt)).toEqual([1]);
      expect(p.bus.deadLetters.map((d) => [d.attributes.errorClass, d.attributes.sourceHandler])).toEqual([['warehouse', 'load']]);
      expect(p.bus.deadLetters[0]!.attributes.errorMessage).toMatch(/reason accessDenied/);
      for (const m of ref.municipalities) expect(await ledgerRow(p.warehouse, run.runId, m)).toMatchObject({ status: 'staged' });
      expect(await alertsOf(p.warehouse, run.runId)).toEqual(ref.municipalities.map((m) => ['not_loaded', 'ALERT', m]));
      expect(await committed(p)).toEqual({ raw: 0, slices: 0 });

      // The grant is fixed; the operator republishes the dead-lettered load request as it was.
      broken = false;
      p.bus.publishRaw('loadRequests', p.bus.deadLetters[0]!.data);
      await p.drain();
      await p.finalize(run.runId);
      for (const m of ref.municipalities) expect(await ledgerRow(p.warehouse, run.runId, m)).toMatchObject({ status: 'loaded' });
      expect(await alertsOf(p.warehouse, run.runId)).toEqual([]);
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      await p.dispose();
    }
  });

  it('no secret and no clear-text personal data in any log line or dead letter of this file', async () => {
    expect(lab.logLines.length).toBeGreaterThan(100);
    const personal = await personalDataOf([santos, parana]);
    expect(personal.length).toBeGreaterThan(300);
    expect(
      findLeaks(
        [
          ['logs', lab.logLines.join('\n')],
          ['dead letters', lab.deadLetterTexts.join('\n')],
        ],
        [...secretsOf([santos, parana]), ...personal],
      ),
    ).toEqual([]);
  });
});
