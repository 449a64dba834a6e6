import { FACT_TABLE } from '../../shared/marts/star';
import { REFRESHED_MART_NAMES } from '../../shared/marts/marts';
import net from 'node:net';
import { ibgeCheckDigit } from '../../shared/contracts/ibge';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { DAILY_WORKFLOW } from '../../shared/workflow/daily';
import { FINALIZE_STEPS, maxLoadWaves, step, validateWorkflowSpec, type WorkflowSpec } from '../../shared/workflow/definition';
import type { RunEvent } from '../../shared/ports';
import { runStatus } from '../../shared/run/run-status';
import { seedPec } from '../../scripts/synthetic-pec/generate';
import { createTestDatabase, testServerPort, type TestDatabase } from '../support/pg';
import { registryFor, testPipeline } from '../support/local-pipeline';

/**
 * The daily workflow executed locally, the way `npm start` runs it: step order, batching under the
 * concurrency limit, the extraction deadline and a partial failure. One synthetic PEC installation
 * holds three municipalities; a fourth is in the registry with a password that cannot be read.
 */
const A = { ibge: '3509502', name: 'Campinas', uf: 'SP' };
const B = { ibge: '3548500', name: 'Santos', uf: 'SP' };
const C = { ibge: '3552205', name: 'Sorocaba', uf: 'SP' };
const D = '4106902'; // Curitiba: its password secret does not exist → terminal failure
const RUN_DATE = '2026-11-21';

function withFanOut(batchSize: number, maxInFlight: number): WorkflowSpec {
  const fan = step(DAILY_WORKFLOW, 'fanOut');
  return validateWorkflowSpec({ ...DAILY_WORKFLOW, steps: DAILY_WORKFLOW.steps.map((s) => (s.kind === 'fanOut' ? { ...fan, batchSize, maxInFlight } : s)) });
}

describe('the daily workflow executed locally', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('pec_workflow', (c) =>
      seedPec(c, { seed: 21, municipalities: [A, B, C], citizens: 120, months: 3, endDate: '2026-11-20', dwProcessedAt: new Date(Date.now() - 3_600_000) }).then(() => {}),
    );
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });
  const sources = () => [{ db, municipalities: [A, B, C] }];

  /** One ordered log of what the workflow sends and what the handlers report. */
  async function loggedPipeline(options: Parameters<typeof testPipeline>[1] = {}) {
    const log: string[] = [];
    const p = await testPipeline(sources(), {
      ...options,
      observer: {
        record: (e: RunEvent) => {
          if (e.kind === 'extract_staged') log.push(`staged:${e.municipality}`);
          if (e.kind === 'extract_failed' && !e.willRetry) log.push(`failed:${e.municipality}`);
          if (e.kind === 'load_finished') log.push(`loaded:${[...new Set(e.outcomes.map((o) => o.municipality))].sort().join(',')}`);
        },
      },
    });
    const ports = p.workflowPorts;
    const publish = ports.publish;
    ports.publish = async (topic, payload, attributes) => {
      const m = payload as { municipality?: string; municipalities?: string[] };
      log.push(`publish:${topic}${m.municipality ? `:${m.municipality}` : m.municipalities ? `:${[...m.municipalities].sort().join(',')}` : ''}`);
      return publish(topic, payload, attributes);
    };
    const refresh = ports.refreshMart;
    ports.refreshMart = async (name) => {
      log.push(`mart:${name}`);
      return refresh(name);
    };
    const report = ports.report;
    ports.report = async (req, logAlert) => {
      log.push(`report:${req.runId}`);
      return report(req, logAlert);
    };
    return { p, log };
  }

  it('runs the steps in the definition order: request, fan-out, extractions, one fan-in load, marts, report, alerts', async () => {
    const { p, log } = await loggedPipeline();
    // What the run status said when the workflow sent the load and when it refreshed each mart.
    const seen: { atLoad?: { done: number; pending: number }; atMarts: number[] } = { atMarts: [] };
    const status = () => runStatus(p.store, { runId: 'daily-20261121' }, { now: new Date() }).then((s) => s!.counts);
    const publish = p.workflowPorts.publish;
    p.workflowPorts.publish = async (topic, payload, attributes) => {
      if (topic === 'loadRequests') seen.atLoad = await status().then((c) => ({ done: c.done, pending: c.pending }));
      return publish(topic, payload, attributes);
    };
    const refresh = p.workflowPorts.refreshMart;
    p.workflowPorts.refreshMart = async (name) => {
      seen.atMarts.push((await status()).loaded);
      return refresh(name);
    };
    try {
      const run = await p.runOnce({ runDate: RUN_DATE });
      expect(run.workflow.trace).toEqual(DAILY_WORKFLOW.steps.map((s) => s.id));
      expect(run.runId).toBe('daily-20261121');
      expect(run.extracted.sort()).toEqual([A.ibge, B.ibge, C.ibge].sort());
      expect(run.workflow.batches).toEqual([[A.ibge, B.ibge, C.ibge]]); // one batch of ≤ 10
      const at = (entry: string) => {
        const i = log.indexOf(entry);
        expect({ entry, found: i >= 0 }).toEqual({ entry, found: true });
        return i;
      };
      const all = [A.ibge, B.ibge, C.ibge].sort().join(',');
      expect(log[0]).toBe('publish:runRequests');
      for (const m of [A, B, C]) {
        expect(at(`publish:extractRequests:${m.ibge}`)).toBeGreaterThan(0);
        expect(at(`staged:${m.ibge}`)).toBeGreaterThan(at(`publish:extractRequests:${m.ibge}`));
      }
      // One load for all municipalities (fan-in), sent once every one was extracted; then the
      // marts, once the load had processed them all; then the report.
      expect(log.filter((l) => l.startsWith('publish:loadRequests'))).toEqual([`publish:loadRequests:${all}`]);
      expect(seen.atLoad).toEqual({ done: 3, pending: 0 });
      expect(at(`loaded:${all}`)).toBeGreaterThan(at(`publish:loadRequests:${all}`));
      // The fact's transaction rebuilds the follow-up marts, aggregates and lists with it.
      expect(at(`mart:${FACT_TABLE}`)).toBeGreaterThan(at(`publish:loadRequests:${all}`));
      // Two at a time (the workflow's concurrency): every one exactly once, in any order.
      expect(log.filter((l) => l.startsWith('mart:')).sort()).toEqual(REFRESHED_MART_NAMES.map((m) => `mart:${m}`).sort());
      expect(seen.atMarts).toEqual(REFRESHED_MART_NAMES.map(() => 3));
      expect(at('report:daily-20261121')).toBeGreaterThan(Math.max(...REFRESHED_MART_NAMES.map((m) => at(`mart:${m}`))));

      const [runRow] = await p.warehouse.query(`SELECT status, municipalities_loaded::INTEGER AS loaded FROM ops.runs WHERE run_id = 'daily-20261121'`);
      expect(runRow).toEqual({ status: 'succeeded', loaded: 3 });
      const [marts] = await p.warehouse.query(`SELECT count(DISTINCT municipality_ibge)::INTEGER AS n FROM marts.hypertension_follow_up`);
      expect(marts!.n).toBe(3);
      expect(run.workflow.alerts).toEqual([]);

      // The same day again: nothing is extracted or loaded twice, the workflow still ends with marts and report.
      log.length = 0;
      const again = await p.runOnce({ runDate: RUN_DATE });
      expect(again.workflow.trace).toEqual(DAILY_WORKFLOW.steps.map((s) => s.id));
      expect(again.workflow.batches).toEqual([]); // every municipality already has its manifest
      expect(log.filter((l) => l.startsWith('publish:extractRequests'))).toEqual([]);

      // finalizeOnly (after reruns/backfills) runs only the marts, report and alert steps.
      const fin = await p.finalize('daily-20261121');
      expect(fin.trace).toEqual(DAILY_WORKFLOW.steps.filter((s) => FINALIZE_STEPS.includes(s.kind)).map((s) => s.id));
    } finally {
      await p.dispose();
    }
  });

  it('releases the extract messages in batches, never more municipalities in flight than the limit', async () => {
    for (const [batchSize, maxInFlight, batches] of [
      [1, 1, [[A.ibge], [B.ibge], [C.ibge]]],
      [2, 2, [[A.ibge, B.ibge], [C.ibge]]],
    ] as const) {
      const { p } = await loggedPipeline({ workflow: withFanOut(batchSize, maxInFlight) });
      try {
        // At every extract message, count who was released and has not settled yet (no manifest, no failure).
        const released: string[] = [];
        const inFlight: number[] = [];
        const publish = p.workflowPorts.publish;
        p.workflowPorts.publish = async (topic, payload, attributes) => {
          if (topic === 'extractRequests') {
            released.push((payload as { municipality: string }).municipality);
            const status = await runStatus(p.store, { runId: 'daily-20261121' }, { now: new Date() });
            const settled = status!.municipalities.filter((m) => released.includes(m.ibge) && m.state !== 'pending').length;
            inFlight.push(released.length - settled);
          }
          return publish(topic, payload, attributes);
        };
        const run = await p.runOnce({ runDate: RUN_DATE });
        expect(run.workflow.batches).toEqual(batches);
        expect(Math.max(...inFlight)).toBeLessThanOrEqual(maxInFlight);
        expect(run.extracted.sort()).toEqual([A.ibge, B.ibge, C.ibge].sort());
      } finally {
        await p.dispose();
      }
    }
  });

  it('does not wait past the deadline: late and failed municipalities are recorded, the rest is loaded', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const registry = MunicipalityRegistry.parse({
      municipalities: [
        // Santos as its own installation: its held extraction must not hold Campinas's source lease.
        ...registryFor([{ db, municipalities: [A, B] }]).municipalities.map((m) => (m.ibge === B.ibge ? { ...m, installation: 'santos-own-server' } : m)),
        {
          ibge: D,
          name: 'Curitiba',
          network: 'vpn',
          connection: { host: '127.0.0.1', port: testServerPort(), database: db.name, user: db.readerRole, password: { secret: 'no-such-secret' } },
        },
      ],
    });
    const { p, log } = await loggedPipeline({
      registry,
      // Long enough for Campinas to be extracted on a busy machine; Santos is held past it regardless.
      timing: { deadlineMs: 10_000, pollEveryMs: 50, retryDelayScale: 0.01 },
      // Santos's extraction hangs just before its commit record, like a server that stopped answering.
      storeBeforeCommit: (key) => (key.endsWith(`manifests/${B.ibge}.json`) ? held : undefined),
    });
    try {
      const run = await p.runOnce({ runDate: RUN_DATE });
      // The workflow returned while Santos is still held (it did not wait for it).
      expect(p.events.some((e) => e.kind === 'extract_staged' && e.municipality === B.ibge)).toBe(false);
      expect(run.workflow.late).toEqual([B.ibge]);
      expect(run.workflow.failed).toEqual([D]);
      expect(run.workflow.done).toEqual([A.ibge]);
      // The fan-in load lists only who made it; the marts and the report still ran.
      const loads = log.filter((l) => l.startsWith('publish:loadRequests'));
      expect(loads).toEqual([`publish:loadRequests:${A.ibge}`]);
      expect(run.workflow.trace).toEqual(DAILY_WORKFLOW.steps.map((s) => s.id));

      const states = Object.fromEntries(
        (await p.warehouse.query(`SELECT municipality, status, error_class FROM ops.municipality_runs WHERE run_id = $1`, [run.runId])).map((r) => [
          r.municipality,
          [r.status, r.error_class],
        ]),
      );
      expect(states).toEqual({ [A.ibge]: ['loaded', null], [B.ibge]: ['late', null], [D]: ['failed', 'config'] });
      const [runRow] = await p.warehouse.query(`SELECT status, municipalities_late::INTEGER AS late, municipalities_failed::INTEGER AS failed FROM ops.runs WHERE run_id = $1`, [
        run.runId,
      ]);
      expect(runRow).toEqual({ status: 'partial', late: 1, failed: 1 });
      expect(run.workflow.alerts.map((a) => [a.rule, a.municipality]).sort()).toEqual([
        ['municipality_failed', D],
        ['municipality_late', B.ibge],
      ]);
      // Alerts are log lines with the fixed `alert` field.
      const alertLines = p.log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.alert === 'pec-pipeline');
      expect(alertLines.map((l) => [l.rule, l.severity]).sort()).toEqual([
        ['municipality_failed', 'ERROR'],
        ['municipality_late', 'ERROR'],
      ]);
    } finally {
      release();
      await p.drain();
      // Santos finished after the deadline: staged, but not loaded by this run.
      const santos = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM ops.loaded_slices WHERE municipality = $1`, [B.ibge]);
      expect(santos[0]!.n).toBe(0);
      await p.dispose();
    }
  });
  it('no shared fate: 20 sources that refuse connections, listed first, hold no slot while they wait for a retry; the healthy three load, the dead end failed with their class', async () => {
    // A port where nothing listens: every connection is refused (ECONNREFUSED → source_unreachable, transient).
    const refusing = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    const dead = Array.from({ length: 20 }, (_, i) => `41${String(i).padStart(4, '0')}`).map((six) => `${six}${ibgeCheckDigit(six)}`);
    const healthy = registryFor([{ db, municipalities: [A, B, C] }]).municipalities;
    const registry = MunicipalityRegistry.parse({
      municipalities: [
        ...dead.map((ibge, i) => ({ ...healthy[0]!, ibge, name: `Dead ${i}`, installation: `dead-${i}`, connection: { ...healthy[0]!.connection, port: refusing } })),
        ...healthy,
      ],
    });
    const deadlineMs = 8_000;
    const { p, log } = await loggedPipeline({
      registry,
      // The default cap (batches of 10, 20 in flight): before, the 20 dead filled it until the deadline.
      timing: { deadlineMs, pollEveryMs: 50, retryDelayScale: 0.01, loadWaveEveryMs: 500 },
      // Redelivered for longer than the deadline (the cloud retries for hours).
      subscription: { maxDeliveryAttempts: 20, minBackoffMs: 200, maxBackoffMs: 800 },
    });
    const waits: { step: string; retrying: number; extracting: number }[] = [];
    p.workflowPorts.onWait = (s, w) => void waits.push({ step: w.step, retrying: s.counts.retrying, extracting: s.counts.extracting });
    // The workflow step each load wave was sent in.
    const waveSteps: string[] = [];
    const publish = p.workflowPorts.publish;
    p.workflowPorts.publish = async (topic, payload, attributes) => {
      if (topic === 'loadRequests') waveSteps.push(waits.at(-1)?.step ?? '');
      return publish(topic, payload, attributes);
    };
    try {
      const run = await p.runOnce({ runDate: RUN_DATE });
      const all = [A.ibge, B.ibge, C.ibge];
      expect(run.workflow.batches).toEqual([dead.slice(0, 10), dead.slice(10), all]);
      // The healthy three were loaded in waves as they were staged, while the dead were still
      // retrying: before the deadline, not after it.
      expect(run.workflow.waves.flat().sort()).toEqual([...all].sort());
      expect(waveSteps.length).toBe(run.workflow.waves.length);
      for (const st of waveSteps) expect(['fan_out', 'await_extractions']).toContain(st);
      expect(run.workflow.waves.length).toBeLessThanOrEqual(maxLoadWaves(DAILY_WORKFLOW, 23));
      expect(log.filter((l) => l.startsWith('failed:'))).toEqual([]);
      expect(waits.some((w) => w.step === 'await_extractions' && w.retrying > 0)).toBe(true);
      expect(Math.max(...waits.map((w) => w.extracting))).toBeLessThanOrEqual(20);

      expect(run.workflow.done.sort()).toEqual([...all].sort());
      expect(run.workflow.late).toEqual([]);
      expect(run.workflow.failed.sort()).toEqual(dead);
      const rows = await p.warehouse.query(`SELECT municipality, status, error_class, error_classes, attempts FROM ops.municipality_runs WHERE run_id = $1 ORDER BY municipality`, [
        run.runId,
      ]);
      for (const r of rows) {
        if (all.includes(String(r.municipality)))
          expect({ m: r.municipality, status: r.status, error_class: r.error_class }).toEqual({ m: r.municipality, status: 'loaded', error_class: null });
        else {
          // A source down for good ends with ITS class, not `late`; the classes it met are counted.
          expect({ m: r.municipality, status: r.status, error_class: r.error_class }).toEqual({ m: r.municipality, status: 'failed', error_class: 'source_unreachable' });
          expect(String(r.error_classes)).toMatch(/^source_unreachable:\d+$/);
          expect(Number(r.attempts)).toBeGreaterThanOrEqual(2);
        }
      }
      const [runRow] = await p.warehouse.query(
        `SELECT status, municipalities_loaded::INTEGER AS loaded, municipalities_failed::INTEGER AS failed, municipalities_late::INTEGER AS late, municipalities_skipped::INTEGER AS skipped FROM ops.runs WHERE run_id = $1`,
        [run.runId],
      );
      expect(runRow).toEqual({ status: 'partial', loaded: 3, failed: 20, late: 0, skipped: 0 });
    } finally {
      await p.drain();
      await p.dispose();
    }
  }, 120_000);
  it('Ctrl-C: the run is recorded as interrupted in the ledger, its municipalities in their live state', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { p } = await loggedPipeline({
      timing: { pollEveryMs: 50 },
      // Every extraction hangs before its commit record: the run is in the middle of extracting.
      storeBeforeCommit: (key) => (key.includes('/manifests/') ? held : undefined),
    });
    let running: Promise<unknown> | undefined;
    try {
      running = p.runOnce({ runDate: RUN_DATE });
      for (let i = 0; i < 400 && !p.events.some((e) => e.kind === 'extract_started'); i++) await new Promise((r) => setTimeout(r, 25));
      expect(await p.recordInterrupted('daily-20261121')).toBe(true);
      const [run] = await p.warehouse.query(`SELECT status, municipalities_planned::INTEGER AS planned FROM ops.runs WHERE run_id = 'daily-20261121'`);
      expect(run).toEqual({ status: 'interrupted', planned: 3 });
      const states = (await p.warehouse.query(`SELECT DISTINCT status FROM ops.municipality_runs WHERE run_id = 'daily-20261121'`)).map((r) => r.status);
      for (const st of states) expect(['pending', 'extracting', 'retrying']).toContain(st);
      // No plan, nothing to record.
      expect(await p.recordInterrupted('daily-20990101')).toBe(false);
    } finally {
      release();
      await running;
      await p.drain();
      await p.dispose();
    }
  }, 60_000);
});
