import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { seedPec, type SeedOptions } from '../../../scripts/synthetic-pec/generate';
import type { TableDef } from '../../../shared/contracts/tables';
import type { DuckDbWarehouse } from '../../../shared/local/duckdb-warehouse';
import type { LocalPipelineOptions } from '../../../shared/local/runtime';
import type { RunEvent } from '../../../shared/ports';
import { PEC_TABLES } from '../../../shared/tables/pec-tables';
import { TEST_KEY, testPipeline, type Source } from '../../support/local-pipeline';
import { createTestDatabase, type TestDatabase } from '../../support/pg';
import { fingerprint } from '../../support/warehouse';

/**
 * What every fault case needs: small synthetic PEC sources, ONE clean reference warehouse per test
 * file to compare a faulted run's final warehouse with row by row, what the run ledger said at each
 * failure, every delivery the bus made, and the material for the leak scans (secrets and personal
 * data read from the sources).
 */

export const RUN_DATE = '2026-11-21';
/** Explicit window: the reference and every faulted run extract exactly the same slices. */
export const WINDOW = { start: '2026-08-01', end: '2026-11-22' };
export const REQUEST = { runDate: RUN_DATE, window: WINDOW };
export const HOUR = 3_600_000;

export type SeedMunicipality = SeedOptions['municipalities'][number];

/** A small synthetic PEC (a few hundred rows per fact table): enough to span parts and tables, fast to seed. */
export function seedSource(prefix: string, seed: number, municipalities: SeedMunicipality[], extra: Partial<SeedOptions> = {}): Promise<TestDatabase> {
  return createTestDatabase(prefix, (c) =>
    seedPec(c, { seed, municipalities, citizens: 150, months: 4, endDate: '2026-11-20', dwProcessedAt: new Date(Date.now() - HOUR), ...extra }).then(() => {}),
  );
}

/**
 * The (table, municipality) pairs of a seeded source with no row to extract in `window`: a small
 * synthetic municipality can draw no vaccination in four months (3 of 650 at 80 citizens), and the
 * clean reference refuses an empty table (see buildReference). Read from the source itself, with the
 * registry's own scoping (municipality column, window column).
 */
export async function emptySourceSlices(db: TestDatabase, ibges: string[], window: { start: string; end: string } = WINDOW): Promise<string[]> {
  const empty: string[] = [];
  for (const t of PEC_TABLES) {
    if (t.municipality.kind !== 'column') continue; // installation-wide: every municipality gets the whole table
    let where = '';
    if (t.mode.kind === 'window') {
      const yyyymmdd = t.mode.keyFormat === 'yyyymmdd';
      const key = (d: string) => (yyyymmdd ? d.replaceAll('-', '') : `DATE ${lit(d)}`);
      where = `WHERE f.${q(t.mode.column)} >= ${key(window.start)} AND f.${q(t.mode.column)} < ${key(window.end)}`;
    }
    const { rows } = await db.client.query<{ ibge: string }>(
      `SELECT DISTINCT m.co_ibge AS ibge FROM public.${q(t.name)} AS f JOIN public.tb_dim_municipio AS m ON m.co_seq_dim_municipio = f.${q(t.municipality.column)} ${where}`,
    );
    const present = new Set(rows.map((r) => r.ibge));
    for (const m of ibges) if (!present.has(m)) empty.push(`${t.name}/${m}`);
  }
  return empty;
}

/** What the run ledger (ops.municipality_runs) said right after it recorded a failure event. */
export interface LedgerSnapshot {
  event: 'extract_failed' | 'load_failed';
  runId: string;
  municipality: string;
  status: string;
  error_class: string | null;
  error_message: string | null;
  attempts: number | null;
}

/** One delivery of a message to a subscription, as the bus made it. */
export interface Delivery {
  subscription: string;
  topic: string;
  messageId: string;
  attempt: number;
  at: number;
}

export type LabPipeline = Awaited<ReturnType<typeof testPipeline>> & {
  events: RunEvent[];
  ledgerAtFailures: LedgerSnapshot[];
  deliveries: Delivery[];
};

export type LabOptions = Partial<LocalPipelineOptions> & {
  /** Called with every run event before the ledger records it: where a test removes its fault. */
  onEvent?: (e: RunEvent) => unknown;
};

/**
 * One per test file: opens local pipelines and keeps every log line and dead letter they produced,
 * so the file's last test can scan them all for secrets and personal data.
 */
export class FaultLab {
  readonly logLines: string[] = [];
  readonly deadLetterTexts: string[] = [];

  async pipeline(sources: Source[], options: LabOptions = {}): Promise<LabPipeline> {
    const events: RunEvent[] = [];
    const { onEvent, ...rest } = options;
    const p = await testPipeline(sources, {
      ...rest,
      // A regression must fail the case, not hang it: the workflow stops waiting well inside jest's timeout.
      timing: { deadlineMs: 25_000, loadTimeoutMs: 15_000, ...rest.timing },
      observer: {
        record: async (e) => {
          events.push(e);
          await onEvent?.(e);
        },
      },
    });
    const ledgerAtFailures: LedgerSnapshot[] = [];
    const deliveries: Delivery[] = [];

    // The ledger is the last observer: snapshot its row once it has recorded a failure.
    p.ledger.afterRecord = async (e: RunEvent) => {
      if (e.kind !== 'extract_failed' && e.kind !== 'load_failed') return;
      for (const m of e.kind === 'extract_failed' ? [e.municipality] : e.municipalities) {
        const [row] = await p.warehouse.query(
          `SELECT status, error_class, error_message, attempts::INTEGER AS attempts FROM ops.municipality_runs WHERE run_id = $1 AND municipality = $2`,
          [e.runId, m],
        );
        ledgerAtFailures.push({ event: e.kind, runId: e.runId, municipality: m, ...(row as Omit<LedgerSnapshot, 'event' | 'runId' | 'municipality'>) });
      }
    };

    // Count every delivery (the bus's own dispatch), to prove "no retry storm" and the backoff.
    p.bus.onDeliver = (d) => deliveries.push({ ...d, at: Date.now() });

    const dispose = p.dispose;
    return Object.assign(p, {
      events,
      ledgerAtFailures,
      deliveries,
      dispose: async () => {
        this.logLines.push(...p.log.lines);
        this.deadLetterTexts.push(...p.bus.deadLetters.map((d) => `${JSON.stringify(d.attributes)} ${d.data.toString('utf8')}`));
        await dispose();
      },
    });
  }
}

const q = (ident: string) => `"${ident.replaceAll('"', '""')}"`;
const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** A clean run's warehouse content (ingestion columns left out), kept as Parquet files. */
export interface Reference {
  dir: string;
  runId: string;
  fingerprint: Record<string, string>;
  rows: Record<string, number>;
  municipalities: string[];
}

/**
 * The clean reference: the same sources, run date and window, no fault. Fails if any table is empty
 * for any municipality, so "nothing lost" can never be checked against nothing.
 */
export async function buildReference(lab: FaultLab, sources: Source[], request: Record<string, unknown> = REQUEST, options: LabOptions = {}): Promise<Reference> {
  const p = await lab.pipeline(sources, options);
  try {
    const run = await p.runOnce(request);
    const municipalities = sources.flatMap((s) => s.municipalities.map((m) => m.ibge)).sort();
    if (JSON.stringify([...run.extracted].sort()) !== JSON.stringify(municipalities))
      throw new Error(`the clean reference run extracted ${run.extracted.join(', ')}, expected ${municipalities.join(', ')}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-faults-ref-'));
    const rows: Record<string, number> = {};
    for (const t of PEC_TABLES) {
      await p.warehouse.execute(`COPY (SELECT * EXCLUDE (_run_id, _extracted_at) FROM raw.${q(t.name)}) TO ${lit(path.join(dir, `${t.name}.parquet`))} (FORMAT parquet)`);
      const per = await p.warehouse.query(`SELECT _municipality_ibge AS m, count(*)::INTEGER AS n FROM raw.${q(t.name)} GROUP BY 1`);
      const empty = municipalities.filter((m) => !per.some((r) => r.m === m && Number(r.n) > 0));
      if (empty.length > 0) throw new Error(`reference: ${t.name} has no rows for ${empty.join(', ')}: seed more data`);
      rows[t.name] = per.reduce((n, r) => n + Number(r.n), 0);
    }
    return { dir, runId: run.runId, fingerprint: await fingerprint(p.warehouse, PEC_TABLES, undefined, { contentOnly: true }), rows, municipalities };
  } finally {
    await p.dispose();
  }
}

export interface TableDiff {
  /** Rows of the reference the warehouse lacks (lost). */
  missing: number;
  /** Rows of the warehouse the reference lacks (duplicated, stale or foreign). */
  unexpected: number;
  example?: Record<string, unknown>;
}

/**
 * Row-by-row comparison with the reference, as multisets (EXCEPT ALL both ways), leaving out the
 * ingestion columns that legitimately differ between runs (`_run_id`, `_extracted_at`) and, per
 * table, `ignoreColumns`. Returns only the tables that differ.
 */
export async function diffFromReference(
  w: DuckDbWarehouse,
  ref: Reference,
  opts: { municipalities?: string[]; ignoreColumns?: Record<string, string[]>; tables?: readonly TableDef[] } = {},
): Promise<Record<string, TableDiff>> {
  const out: Record<string, TableDiff> = {};
  const where = opts.municipalities ? `WHERE _municipality_ibge IN (${opts.municipalities.map(lit).join(', ')})` : '';
  for (const t of opts.tables ?? PEC_TABLES) {
    const ignore = (opts.ignoreColumns?.[t.name] ?? []).map(q);
    const current = `SELECT * EXCLUDE (_run_id, _extracted_at${ignore.map((c) => `, ${c}`).join('')}) FROM raw.${q(t.name)} ${where}`;
    const reference = `SELECT * ${ignore.length ? `EXCLUDE (${ignore.join(', ')})` : ''} FROM read_parquet(${lit(path.join(ref.dir, `${t.name}.parquet`))}) ${where}`;
    const [r] = await w.query(
      `SELECT (SELECT count(*) FROM (${reference} EXCEPT ALL ${current}))::INTEGER AS missing, (SELECT count(*) FROM (${current} EXCEPT ALL ${reference}))::INTEGER AS unexpected`,
    );
    const missing = Number(r!.missing);
    const unexpected = Number(r!.unexpected);
    if (missing === 0 && unexpected === 0) continue;
    const [example] = await w.query(missing > 0 ? `${reference} EXCEPT ALL ${current} LIMIT 1` : `${current} EXCEPT ALL ${reference} LIMIT 1`);
    out[t.name] = { missing, unexpected, example };
  }
  return out;
}

/** Tables where a municipality holds a primary key more than once (count ≠ count distinct). */
export async function duplicateKeys(w: DuckDbWarehouse, tables: readonly TableDef[] = PEC_TABLES): Promise<string[]> {
  const out: string[] = [];
  for (const t of tables) {
    const pk = t.primaryKey.map(q).join(', ');
    const rows = await w.query(
      `SELECT _municipality_ibge AS m, count(*)::INTEGER AS n, count(DISTINCT (${pk}))::INTEGER AS d FROM raw.${q(t.name)} GROUP BY 1 HAVING count(*) <> count(DISTINCT (${pk}))`,
    );
    for (const r of rows) out.push(`${t.name}/${r.m}: ${r.n} rows, ${r.d} keys`);
  }
  return out;
}

/** The warehouse equals the clean run's, row by row; no key is duplicated; nothing is lost. */
export async function expectSameAsReference(w: DuckDbWarehouse, ref: Reference): Promise<void> {
  expect(await diffFromReference(w, ref)).toEqual({});
  expect(await duplicateKeys(w)).toEqual([]);
  expect(await fingerprint(w, PEC_TABLES, undefined, { contentOnly: true })).toEqual(ref.fingerprint);
}

/** The final ledger row of one municipality in one run. */
export async function ledgerRow(w: DuckDbWarehouse, runId: string, ibge: string): Promise<Record<string, unknown> | undefined> {
  const [row] = await w.query(
    `SELECT status, error_class, error_message, attempts::INTEGER AS attempts, strftime(dw_processed_at, '%Y-%m-%dT%H:%M:%S') AS dw_processed_at
     FROM ops.municipality_runs WHERE run_id = $1 AND municipality = $2`,
    [runId, ibge],
  );
  return row;
}

export async function alertsOf(w: DuckDbWarehouse, runId: string): Promise<[string, string, string | null][]> {
  const rows = await w.query(`SELECT rule, severity, municipality FROM ops.alerts WHERE run_id = $1 ORDER BY rule, municipality`, [runId]);
  return rows.map((r) => [String(r.rule), String(r.severity), r.municipality === null ? null : String(r.municipality)]);
}

export interface LogLine {
  severity: string;
  message: string;
  errorClass?: string;
  err?: string;
  messageId?: string;
  handler?: string;
  [k: string]: unknown;
}
export const logLines = (p: { log: { lines: string[] } }): LogLine[] => p.log.lines.map((l) => JSON.parse(l) as LogLine);

/** The label a handler puts on every line about a municipality. */
export const municipalityOf = (l: LogLine): string | undefined => (l['logging.googleapis.com/labels'] as { municipality?: string } | undefined)?.municipality;

// ---------------------------------------------------------------------------------------------
// Leak scans

/** Secrets a log line, a staged file or a table must never contain: source passwords and the pseudonymisation key. */
export function secretsOf(dbs: TestDatabase[], extra: string[] = []): string[] {
  return [...dbs.map((d) => d.readerPassword), 'test-superuser', TEST_KEY.toString('base64'), TEST_KEY.toString('hex'), TEST_KEY.toString('latin1'), ...extra];
}

/**
 * Clear-text personal data as the sources hold it: every distinct value of every column whose
 * policy is `hash` or `drop` (CPF, CNS, names, phones, e-mail, record numbers), long enough not to
 * match by accident.
 */
export async function personalDataOf(dbs: TestDatabase[]): Promise<string[]> {
  const values = new Set<string>();
  for (const db of dbs) {
    for (const t of PEC_TABLES) {
      for (const c of t.columns.filter((col) => col.pii && col.pii.policy !== 'keep' && col.type === 'text')) {
        const { rows } = await db.client
          .query<{ v: string }>(`SELECT DISTINCT ${q(c.name)}::text AS v FROM public.${q(t.name)} WHERE ${q(c.name)} IS NOT NULL`)
          .catch(() => ({ rows: [] as { v: string }[] })); // a drifted source may lack the column
        for (const r of rows) if (r.v.trim().length >= 8 && r.v !== 'Não informado') values.add(r.v.trim());
      }
    }
  }
  return [...values];
}

/** Where each needle occurs, without printing the value itself (the test output is a log too). */
export function findLeaks(haystacks: [where: string, text: string][], needles: string[]): string[] {
  const leaks: string[] = [];
  for (const [where, text] of haystacks) for (const n of needles) if (text.includes(n)) leaks.push(`${where}: "${n.slice(0, 3)}…" (${n.length} chars)`);
  return leaks;
}

/** Every staged object of a pipeline's bucket, gunzipped: [key, text]. */
export async function stagedTexts(p: LabPipeline): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const key of await p.store.list('')) {
    const bytes = fs.readFileSync(p.store.loadUri(key));
    out.push([key, key.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8')]);
  }
  return out;
}

/** Every raw and ops table of a warehouse as text: [table, text]. */
export async function warehouseTexts(w: DuckDbWarehouse): Promise<[string, string][]> {
  const tables = await w.query(`SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema IN ('raw', 'ops', 'marts')`);
  const out: [string, string][] = [];
  for (const { t } of tables) {
    const [schema, name] = String(t).split('.');
    const rows = await w.query(`SELECT * FROM ${q(schema!)}.${q(name!)}`);
    out.push([String(t), rows.map((r) => Object.values(r).map(String).join('\u0001')).join('\n')]);
  }
  return out;
}

/** Polls until `predicate` holds. */
export function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = async () => {
      if (await predicate()) return resolve();
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(() => void tick(), 10);
    };
    void tick();
  });
}

export function removeDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
