import { DAILY_WORKFLOW } from '../../shared/workflow/daily';
import { maxLoadWaves, step, validateWorkflowSpec, type WorkflowSpec } from '../../shared/workflow/definition';
import { executeWorkflow, type LocalTiming, type WorkflowPorts } from '../../shared/workflow/local-executor';
import type { RunStatusSummary } from '../../shared/run/run-status';

/**
 * Load waves against the wave budget (maxLoadWaves), with the real local executor and a simulated
 * run on a virtual clock: each municipality is staged at a given second after the plan, a load wave
 * "loads" its municipalities when it is published (or is lost, like a dead-lettered load), and the
 * run status is computed from that as the run-status function would. No municipality that was
 * staged may be left unloaded because a counter ran out.
 */

const T0 = Date.parse('2026-11-21T09:00:00Z');
const ibges = (n: number) => Array.from({ length: n }, (_, i) => `35${String(1000 + i)}0`);

interface Simulation {
  ports: WorkflowPorts;
  /** Virtual second each municipality was staged at, and loaded at (by a wave that was not lost). */
  stagedAt: Map<string, number>;
  loadedAt: Map<string, number>;
  wavesPublished: number;
}

function simulate(stageAtSeconds: Record<string, number>, opts: { loseWaves?: number } = {}): Simulation {
  let now = T0;
  const plan = Object.keys(stageAtSeconds);
  let planned = false;
  const dispatched = new Set<string>();
  const loadedAt = new Map<string, number>();
  const stagedAt = new Map(Object.entries(stageAtSeconds));
  let lose = opts.loseWaves ?? 0;
  const sim: Simulation = { stagedAt, loadedAt, wavesPublished: 0, ports: undefined as unknown as WorkflowPorts };
  const t = () => (now - T0) / 1000;
  const isDone = (m: string) => dispatched.has(m) && stageAtSeconds[m]! <= t();
  sim.ports = {
    clock: { now: () => new Date(now) },
    sleep: async (ms) => {
      now += ms;
    },
    publish: async (topic, payload) => {
      if (topic === 'runRequests') planned = true;
      if (topic === 'extractRequests') dispatched.add((payload as { municipality: string }).municipality);
      if (topic === 'loadRequests') {
        sim.wavesPublished++;
        if (lose > 0) lose--;
        else for (const m of (payload as { municipalities: string[] }).municipalities) if (!loadedAt.has(m)) loadedAt.set(m, t());
      }
      return undefined;
    },
    runStatus: async (q) => {
      if (!planned) return undefined;
      const done = plan.filter(isDone);
      const pending = plan.length - done.length;
      const loadable = done.filter((m) => !loadedAt.has(m));
      const s: RunStatusSummary = {
        runId: q.runId,
        createdAt: new Date(T0).toISOString(),
        window: null,
        complete: pending === 0,
        counts: {
          planned: plan.length,
          done: done.length,
          failed: 0,
          pending,
          queued: plan.filter((m) => !dispatched.has(m)).length,
          extracting: plan.filter((m) => dispatched.has(m) && !isDone(m)).length,
          retrying: 0,
          late: 0,
          loaded: loadedAt.size,
          loadable: loadable.length,
          loadFailed: 0,
        },
        retryingByClass: {},
        loadable: loadable.slice(0, q.loadableLimit ?? 100),
      };
      if (q.dispatchFrom !== undefined) {
        const end = q.dispatchFrom + (q.dispatchLimit ?? 1000);
        s.dispatch = { municipalities: plan.slice(q.dispatchFrom, end).filter((m) => !isDone(m)), next: end < plan.length ? end : null };
      }
      return s;
    },
    refreshMart: async () => {},
    report: async () => ({ runs: [], runsReported: 0, alerts: 0, alertsQuery: '' }),
    logAlert: () => {},
  };
  return sim;
}

function withWaveMax(waveMaxMunicipalities: number): WorkflowSpec {
  const load = step(DAILY_WORKFLOW, 'loadTables');
  return validateWorkflowSpec({ ...DAILY_WORKFLOW, steps: DAILY_WORKFLOW.steps.map((s) => (s.kind === 'loadTables' ? { ...load, waveMaxMunicipalities } : s)) });
}

describe('load waves and their budget', () => {
  it('on a compressed clock (a wave every second) the budget follows the interval really used: each municipality lands within seconds of being staged', async () => {
    // 30 municipalities staged one every 2 s; the specification's budget (180 min / 10 min + 1 full
    // + 1 last = 20) was spent by second 40, and the last ten were never loaded.
    const ms = ibges(30);
    const sim = simulate(Object.fromEntries(ms.map((m, i) => [m, 1 + 2 * i])));
    const timing: LocalTiming = { deadlineMs: 3_600_000, loadWaveEveryMs: 1_000, loadTimeoutMs: 60_000, pollEveryMs: 500 };
    const run = await executeWorkflow(DAILY_WORKFLOW, sim.ports, { runDate: '2026-11-21' }, timing);
    expect([...sim.loadedAt.keys()].sort()).toEqual(ms);
    const slowest = Math.max(...ms.map((m) => sim.loadedAt.get(m)! - sim.stagedAt.get(m)!));
    expect(slowest).toBeLessThanOrEqual(2);
    expect(run.waves.length).toBeGreaterThan(maxLoadWaves(DAILY_WORKFLOW, 30) + 2);
    expect(run.waves.length).toBeLessThanOrEqual(maxLoadWaves(DAILY_WORKFLOW, 30, { deadlineMs: 3_600_000, waveEveryMs: 1_000 }) + 1);
  });

  it('once the budget is spent (lost waves resent), what is staged is still loaded by the last waves', async () => {
    // One municipality per wave; one timed wave for the whole deadline. The first three waves are
    // lost (their load never finishes) and given up after the load timeout, so m0 is sent four
    // times; m1 then finds the budget (1 timed + 3 full) spent while extracting, and m2 is staged last.
    const [m0, m1, m2] = ibges(3) as [string, string, string];
    const sim = simulate({ [m0]: 1, [m1]: 30, [m2]: 60 }, { loseWaves: 3 });
    const spec = withWaveMax(1);
    const timing: LocalTiming = { deadlineMs: 100_000, loadWaveEveryMs: 100_000, loadTimeoutMs: 5_000, pollEveryMs: 1_000 };
    const run = await executeWorkflow(spec, sim.ports, { runDate: '2026-11-21' }, timing);
    expect([...sim.loadedAt.keys()].sort()).toEqual([m0, m1, m2]);
    expect(run.loadTimedOut).toBe(true);
    // Four waves for m0 (three lost), then the last waves: m1 and m2 once extraction is over.
    expect(run.waves).toEqual([[m0], [m0], [m0], [m0], [m1], [m2]]);
    expect(sim.loadedAt.get(m1)).toBeGreaterThanOrEqual(60);
  });
});
