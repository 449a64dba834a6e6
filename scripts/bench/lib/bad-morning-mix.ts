import net from 'node:net';
import type { Client } from 'pg';
import { ibgeCheckDigit } from '../../../shared/contracts/ibge';
import { MunicipalityRegistry } from '../../../shared/contracts/municipalities';

/**
 * The bad-morning fault mix, ONE definition for the 60-municipality integration test
 * (test/integration/bad-morning.test.ts) and `npm run bench -- --bad-morning`: which municipality
 * gets which fault, how each fault is injected into a real PostgreSQL source or into the registry/bus,
 * and what final state/class each must end in (docs/run-states.md).
 */

export type Fault = 'unreachable' | 'wrong_password' | 'statement_timeout' | 'missing_column' | 'overflow' | 'tripled' | 'rerun' | 'none';

/** Share of the municipalities per fault (each rounded UP, so every fault is present at any N ≥ 1). */
export const FAULT_SHARES: Readonly<Record<Exclude<Fault, 'none' | 'rerun'>, number>> = {
  unreachable: 0.1,
  wrong_password: 0.02,
  statement_timeout: 0.02,
  missing_column: 0.02,
  overflow: 0.01,
  tripled: 0.05,
};

/** Final `status[/error_class]` in ops.municipality_runs per injected fault; `+set_aside` = a set-aside alert for it. */
export const EXPECTED: Readonly<Record<Fault, string>> = {
  unreachable: 'failed/source_unreachable',
  wrong_password: 'failed/source_auth',
  statement_timeout: 'failed/source_timeout',
  missing_column: 'loaded/source_schema',
  overflow: 'loaded+set_aside',
  tripled: 'loaded',
  rerun: 'loaded',
  none: 'loaded',
};

export const DRIFT_TABLE = 'tb_fat_atendimento_individual';
export const DRIFT_COLUMN = 'nu_peso';
export const OVERFLOW_TABLE = 'tb_fat_cidadao_pec';
export const OVERFLOW_COLUMN = 'st_faleceu';

export interface MorningPlan {
  ibges: string[];
  faultOf: Record<string, Fault>;
  of(f: Fault): string[];
  /** Loaded with every slice equal to a clean run's (no fault, tripled or rerun). */
  healthy: string[];
  /** Which synthetic source a municipality lives in: the source faults are whole-database changes. */
  sourceOf(ibge: string): 'main' | 'slow' | 'drift' | 'overflow';
  rerun: string;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Deterministic: the same N always gives the same plan; faults spread over the plan (a stride walk), not all first. */
export function morningPlan(n: number): MorningPlan {
  if (!Number.isInteger(n) || n < 20) throw new Error(`municipalities: ${n} is too few for the fault mix (at least 20)`);
  const ibges = Array.from({ length: n }, (_, i) => `35${String(i + 10).padStart(4, '0')}`).map((six) => `${six}${ibgeCheckDigit(six)}`);
  const stride = [7, 11, 13, 17, 19, 23].find((s) => gcd(s, n) === 1)!;
  const order = Array.from({ length: n }, (_, j) => ibges[(j * stride) % n]!);
  const faultOf: Record<string, Fault> = Object.fromEntries(ibges.map((m) => [m, 'none' as Fault]));
  let next = 0;
  for (const [fault, share] of Object.entries(FAULT_SHARES) as [Fault, number][]) {
    for (let k = 0; k < Math.ceil(share * n); k++) faultOf[order[next++]!] = fault;
  }
  const rerun = order[next]!;
  faultOf[rerun] = 'rerun';
  const of = (f: Fault) => ibges.filter((m) => faultOf[m] === f);
  const sources = { statement_timeout: 'slow', missing_column: 'drift', overflow: 'overflow' } as const;
  return {
    ibges,
    faultOf,
    of,
    healthy: ibges.filter((m) => ['none', 'tripled', 'rerun'].includes(faultOf[m]!)),
    sourceOf: (m) => sources[faultOf[m] as keyof typeof sources] ?? 'main',
    rerun,
  };
}

/** Every row of one table sleeps 50 ms: the extraction runs into the statement timeout. */
export async function injectStatementTimeout(c: Client, readerRole: string): Promise<void> {
  await c.query(`
    BEGIN;
    CREATE FUNCTION slow_row() RETURNS boolean LANGUAGE plpgsql VOLATILE AS 'BEGIN PERFORM pg_sleep(0.05); RETURN true; END';
    ALTER TABLE tb_fat_cidadao_pec RENAME TO tb_fat_cidadao_pec_real;
    CREATE VIEW tb_fat_cidadao_pec AS SELECT * FROM tb_fat_cidadao_pec_real WHERE slow_row();
    GRANT SELECT ON tb_fat_cidadao_pec TO ${readerRole};
    COMMIT;`);
}

/** Schema drift: a column the registry requires is gone. */
export async function injectMissingColumn(c: Client): Promise<void> {
  await c.query(`ALTER TABLE ${DRIFT_TABLE} DROP COLUMN ${DRIFT_COLUMN}`);
}

/** An INTEGER column widened to bigint holding 2^40 in the first row of each municipality: set aside at extraction. */
export async function injectOverflow(c: Client): Promise<number> {
  await c.query(`ALTER TABLE ${OVERFLOW_TABLE} ALTER COLUMN ${OVERFLOW_COLUMN} TYPE bigint`);
  const res = await c.query(
    `UPDATE ${OVERFLOW_TABLE} SET ${OVERFLOW_COLUMN} = 1099511627776 WHERE co_seq_fat_cidadao_pec IN (SELECT min(co_seq_fat_cidadao_pec) FROM ${OVERFLOW_TABLE} GROUP BY co_dim_municipio)`,
  );
  return res.rowCount ?? 0;
}

/** A local port nobody listens on (connection refused). */
export function refusingPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export const WRONG_PASSWORD_SECRET = 'pw-wrong';

/** The registry with the connection faults: unreachable ones point at a refusing port, wrong-password ones at a wrong secret. */
export function faultedRegistry(registry: MunicipalityRegistry, plan: MorningPlan, port: number): MunicipalityRegistry {
  return MunicipalityRegistry.parse({
    municipalities: registry.municipalities.map((m) =>
      plan.faultOf[m.ibge] === 'unreachable'
        ? { ...m, connection: { ...m.connection, port } }
        : plan.faultOf[m.ibge] === 'wrong_password'
          ? { ...m, connection: { ...m.connection, password: { secret: WRONG_PASSWORD_SECRET } } }
          : m,
    ),
  });
}

/** For the bus's `duplicate` hook: the first extract message of a tripled municipality is delivered three times. */
export function tripledDeliveries(plan: MorningPlan): (msg: { topic: string; data: Buffer }) => number {
  return (msg) => {
    if (msg.topic !== 'extractRequests') return 1;
    const m = JSON.parse(msg.data.toString()) as { municipality: string; continuation?: unknown };
    return plan.faultOf[m.municipality] === 'tripled' && !m.continuation ? 3 : 1;
  };
}

/** What the ledger says of each municipality of a run, in the EXPECTED notation. */
export async function observedOutcomes(w: { query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]> }, runId: string): Promise<Record<string, string>> {
  const rows = await w.query(`SELECT municipality, status, error_class FROM ops.municipality_runs WHERE run_id = $1`, [runId]);
  const setAside = new Set((await w.query(`SELECT municipality FROM ops.alerts WHERE run_id = $1 AND rule = 'values_set_aside'`, [runId])).map((r) => String(r.municipality)));
  return Object.fromEntries(
    rows.map((r) => {
      const m = String(r.municipality);
      return [m, `${String(r.status)}${r.error_class ? `/${String(r.error_class)}` : ''}${setAside.has(m) ? '+set_aside' : ''}`];
    }),
  );
}

export const expectedOutcomes = (plan: MorningPlan): Record<string, string> => Object.fromEntries(plan.ibges.map((m) => [m, EXPECTED[plan.faultOf[m]!]]));
