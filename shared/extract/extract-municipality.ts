import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { ExtractRequest } from '../contracts/messages';
import { Manifest, type TableExtract, type TableFailure } from '../contracts/manifest';
import type { MunicipalityEntry } from '../contracts/municipalities';
import { INGESTION_COLUMNS, landedColumns, SET_ASIDE_TABLE, type TableDef } from '../contracts/tables';
import { classifySourceError, PipelineError, TerminalError, TransientError } from '../errors';
import type { Clock, ObjectStore, Secrets } from '../ports';
import { FUNCTIONS } from '../contracts/functions';
import { CsvRowTransform, type RowChunk } from './csv-rows';
import { layout } from '../records/layout';
import { readManifest, writeManifest } from '../records/bucket-records';
import { readCheckpoints, writeCheckpoint, type Checkpoint } from '../records/checkpoints';
import { PartWriter } from './part-writer';
import { SourceLease, type LeaseSettings } from '../records/source-lease';
import { installationOf } from '../contracts/municipalities';
import { Pseudonymizer } from './pseudonymizer';
import { copySql, resolveColumns } from './sql';
import { readSourceFacts, SourceSession, type SourceLimits } from './source';

export interface ExtractSettings extends SourceLimits {
  /** Uncompressed CSV bytes after which a part is closed and the next one opened. */
  partMaxBytes: number;
  gzipLevel: number;
  /** Stop starting new tables after this long and continue in a new message (Cloud Functions: 540 s). */
  timeBudgetMs: number;
}

export interface ExtractDeps {
  store: ObjectStore;
  secrets: Secrets;
  municipality: (ibge: string) => MunicipalityEntry | undefined;
  tables: readonly TableDef[];
  clock: Clock;
  logger: Logger;
  settings: ExtractSettings;
  /** Per-server concurrency cap (one extraction per installation at a time). */
  lease?: LeaseSettings;
  /** No statement may run past this long after the delivery started (default DELIVERY_STATEMENT_DEADLINE_MS). */
  statementDeadlineMs?: number;
}

/**
 * The platform stops the extract function at its timeout (540 s) without a word: a delivery killed
 * there records no failure, so a source whose query hangs for good would only ever show `started`
 * markers and end `late` with no class. The default statement timeout (600 s) is longer than that, so
 * each COPY's timeout is capped at what the delivery has left until 30 s before the function timeout:
 * PostgreSQL cancels it (57014, `source_timeout`) and the failure is recorded like any other.
 */
export const DELIVERY_STATEMENT_DEADLINE_MS = (FUNCTIONS.extract.timeoutSeconds - 30) * 1000;

export type ExtractOutcome =
  | { status: 'extracted'; manifest: Manifest }
  | { status: 'already_extracted'; manifest: Manifest }
  | { status: 'continue'; nextSequence: number; tablesDone: number; tablesLeft: number }
  /** A concurrent delivery of the same continuation wrote this checkpoint first and carries on. */
  | { status: 'superseded' };

/**
 * Extract one municipality for one run: every requested table from one source snapshot, streamed
 * through the personal-data policy into compressed parts, then the manifest, written last and only
 * once. Running it again for the same (run, municipality) finds the manifest and does nothing.
 */
export async function extractMunicipality(deps: ExtractDeps, req: ExtractRequest): Promise<ExtractOutcome> {
  const started = Date.now();
  // The handler has already labelled this logger with run and municipality.
  const log = deps.logger;
  const existing = await readManifest(deps.store, req.runId, req.municipality);
  if (existing) {
    log.info('manifest already committed: nothing to do');
    return { status: 'already_extracted', manifest: existing };
  }
  const entry = deps.municipality(req.municipality);
  if (!entry) throw new TerminalError(`municipality ${req.municipality} is not in the registry`, 'unknown_municipality');
  if (!entry.enabled) throw new TerminalError(`municipality ${req.municipality} is disabled in the registry`, 'unknown_municipality');

  const wanted = req.tables ? deps.tables.filter((t) => req.tables!.includes(t.name)) : [...deps.tables];
  const checkpoints = await readCheckpoints(deps.store, req.runId, req.municipality);
  const done = new Set([...checkpoints.flatMap((c) => c.tables.map((t) => t.table)), ...checkpoints.flatMap((c) => c.failedTables.map((t) => t.table))]);
  const todo = wanted.filter((t) => !done.has(t.name));

  const [password, key] = await Promise.all([deps.secrets.resolve(entry.connection.password), deps.secrets.pseudonymKey()]);
  const pseudonymizer = new Pseudonymizer(key);
  const lease = await SourceLease.acquire(deps.store, installationOf(entry), `${req.runId}/${req.municipality}`, deps.clock, deps.lease);
  try {
    return await extractFromSnapshot(deps, req, { entry, password, pseudonymizer, todo, checkpoints, started });
  } finally {
    await lease.release();
  }
}

/** The part of an extraction that holds the source's lease: one snapshot, the tables, the commit. */
async function extractFromSnapshot(
  deps: ExtractDeps,
  req: ExtractRequest,
  job: { entry: MunicipalityEntry; password: string; pseudonymizer: Pseudonymizer; todo: TableDef[]; checkpoints: Checkpoint[]; started: number },
): Promise<ExtractOutcome> {
  const { pseudonymizer, todo, checkpoints, started } = job;
  const log = deps.logger;
  const session = await SourceSession.open(job.entry, job.password, deps.settings);
  const tables: TableExtract[] = [];
  const failedTables: TableFailure[] = [];
  let facts;
  let attempt: string;
  let setAside: SetAsideWriter | undefined;
  try {
    facts = await readSourceFacts(
      session,
      req.municipality,
      todo.map((t) => t.name),
    );
    if (facts.municipioIds.length === 0)
      throw new TerminalError(`the source has no tb_dim_municipio row with co_ibge ${req.municipality}: wrong database for this municipality?`, 'unknown_municipality');
    // Each attempt writes under its own prefix; only the manifest decides which attempt counts.
    attempt = `${facts.snapshotAt.replace(/[^0-9]/g, '').slice(0, 17)}-${randomBytes(3).toString('hex')}`;
    setAside = new SetAsideWriter(deps, req, attempt, checkpoints[0]?.extractedAt ?? facts.snapshotAt);
    const deadline = deps.statementDeadlineMs ?? DELIVERY_STATEMENT_DEADLINE_MS;
    // Never let a statement outlive the delivery (see DELIVERY_STATEMENT_DEADLINE_MS). The cap is set
    // `slack` below what is left, so it stays safe for the next `slack` ms and most tables need no
    // SET of their own (a SET per table was a round trip per table: 25 per municipality).
    const slack = Math.min(5_000, Math.floor(deadline / 100));
    let timeoutMs = deps.settings.statementTimeoutMs;
    for (const table of todo) {
      if (tables.length > 0 && Date.now() - started > deps.settings.timeBudgetMs) break;
      const t0 = Date.now();
      const left = deadline - (t0 - started);
      // A statement started now is cancelled by t0 + timeoutMs at the latest: re-cap when that is past the deadline.
      if (timeoutMs > left) {
        timeoutMs = Math.max(1_000, Math.floor(left) - slack);
        await session.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
      }
      try {
        const result = await extractTable(deps, session, pseudonymizer, table, facts, req, attempt, setAside);
        tables.push({ ...result, seconds: (Date.now() - t0) / 1000 });
        log.info({ table: table.name, rows: result.rows, parts: result.parts.length, warnings: result.warnings }, 'table staged');
        // Drift the registry tolerates (a column filled with NULL) is still drift: WARNING, so log-based alerting sees it.
        if (result.warnings.length > 0) log.warn({ table: table.name, warnings: result.warnings }, 'schema drift: column(s) absent from this PEC version filled with NULL');
        // The other direction: the source has columns the registry does not know (a newer PEC version).
        if (result.unknownColumns?.length)
          log.warn({ table: table.name, unknownColumns: result.unknownColumns }, 'schema drift: source column(s) unknown to the registry are not extracted');
        if (result.typeDrift?.length)
          log.warn({ table: table.name, typeDrift: result.typeDrift }, 'schema drift: source column type(s) differ from the registry; values staged as PostgreSQL prints them');
        if (result.setAsideValues)
          log.warn({ table: table.name, setAsideValues: result.setAsideValues }, 'values the warehouse types cannot hold were staged as NULL and recorded in set_aside_values');
      } catch (err) {
        // A table the registry's drift rules reject fails alone; anything else fails the municipality.
        if (err instanceof PipelineError && err.errorClass === 'source_schema') {
          failedTables.push({ table: table.name, errorClass: err.errorClass, message: err.message });
          log.warn({ table: table.name, errorClass: err.errorClass, err: err.message }, 'table failed: schema drift');
        } else throw err;
      }
    }
  } catch (err) {
    setAside?.abort(err as Error);
    throw err;
  } finally {
    await session.close();
  }
  const setAsideHere = await setAside.finish();

  const prior = mergeCheckpoints(checkpoints);
  const allSetAside = mergeSetAside([prior.setAside, setAsideHere]);
  const allTables = [...prior.tables, ...tables];
  const allFailed = [...prior.failedTables, ...failedTables];
  const left = todo.length - tables.length - failedTables.length;
  if (left > 0) {
    const sequence = checkpoints.length + 1;
    const checkpoint: Checkpoint = {
      extractedAt: prior.extractedAt ?? facts.snapshotAt,
      attempt,
      pecVersion: facts.pecVersion,
      dwProcessedAt: facts.dwProcessedAt,
      tables,
      failedTables,
      ...(setAsideHere ? { setAside: setAsideHere } : {}),
    };
    if (!(await once(writeCheckpoint(deps.store, req.runId, req.municipality, sequence, checkpoint)))) {
      log.info({ sequence }, 'checkpoint already written by a concurrent delivery: stopping here');
      return { status: 'superseded' };
    }
    log.info({ tablesLeft: left, sequence }, 'time budget used: continuing in a new message');
    return { status: 'continue', nextSequence: sequence + 1, tablesDone: allTables.length, tablesLeft: left };
  }

  const manifest = Manifest.parse({
    schemaVersion: 1,
    runId: req.runId,
    municipality: req.municipality,
    attempt: prior.attempt ?? attempt,
    extractedAt: prior.extractedAt ?? facts.snapshotAt,
    finishedAt: deps.clock.now().toISOString(),
    pecVersion: facts.pecVersion,
    dwProcessedAt: facts.dwProcessedAt,
    tables: allTables,
    failedTables: allFailed,
    ...(allSetAside ? { setAside: allSetAside } : {}),
  } satisfies Manifest);
  const committed = await once(writeManifest(deps.store, manifest));
  if (!committed) {
    // A concurrent delivery of the same message committed first: its manifest is the truth.
    const winner = (await readManifest(deps.store, req.runId, req.municipality))!;
    return { status: 'already_extracted', manifest: winner };
  }
  return { status: 'extracted', manifest };
}

async function extractTable(
  deps: ExtractDeps,
  session: SourceSession,
  pseudonymizer: Pseudonymizer,
  table: TableDef,
  facts: Awaited<ReturnType<typeof readSourceFacts>>,
  req: ExtractRequest,
  attempt: string,
  setAside: SetAsideWriter,
): Promise<Omit<TableExtract, 'seconds'>> {
  const available = facts.columnsByTable.get(table.name);
  if (!available) throw new TerminalError(`${table.name} does not exist in this source`, 'source_schema');
  const resolved = resolveColumns(table, available);
  const window = table.mode.kind === 'window' ? req.window : null;
  const sql = copySql(table, resolved, facts.municipioIds, window, { ibge: req.municipality, runId: req.runId });
  const header = resolved.columns.map((c) => c.name).join(',') + '\n';

  const parts: TableExtract['parts'] = [];
  let csvBytes = 0;
  let part = new PartWriter(deps.store, layout.part(req.runId, table.name, req.municipality, attempt, 0), header, deps.settings.gzipLevel);
  const copy = session.copyOut(sql);
  // Set-aside descriptions of the rows of the chunk in flight, written with that chunk.
  let described: string[] = [];
  let setAsideValues = 0;
  const sink = new Writable({
    objectMode: true,
    write: (chunk: RowChunk, _enc, cb) => {
      (async () => {
        if (described.length > 0) {
          const batch = described;
          described = [];
          setAsideValues += await setAside.add(table.name, batch);
        }
        await part.write(chunk.data, chunk.rows);
        if (part.csvBytes >= deps.settings.partMaxBytes) {
          csvBytes += part.csvBytes;
          parts.push(await part.finish());
          part = new PartWriter(deps.store, layout.part(req.runId, table.name, req.municipality, attempt, parts.length), header, deps.settings.gzipLevel);
        }
      })().then(
        () => cb(),
        (e: unknown) => cb(storageError(e)),
      );
    },
  });
  try {
    const onSetAside = resolved.setAsideSql ? (d: string) => void described.push(d) : undefined;
    // Nothing is left in `described` once the pipeline ends: the transform hands over a chunk's
    // descriptions before it pushes that chunk (test/unit/csv-rows.test.ts), so the sink's write of
    // that chunk, or of an earlier one, takes them.
    await pipeline(copy, new CsvRowTransform(resolved.hashedCount, pseudonymizer, onSetAside), sink);
  } catch (err) {
    part.abort(err as Error);
    // The sink's failures are already storage errors: classifySourceError passes a PipelineError through.
    throw classifySourceError(err);
  }
  csvBytes += part.csvBytes;
  parts.push(await part.finish().catch((e: unknown) => Promise.reject(storageError(e))));
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const sourceRows = await copy.completed.catch((err: unknown) => Promise.reject(classifySourceError(err)));
  if (rows !== sourceRows) throw new TerminalError(`${table.name}: wrote ${rows} rows but PostgreSQL reported ${sourceRows}`, 'internal');
  return {
    table: table.name,
    window,
    columns: resolved.columns,
    parts,
    rows,
    sourceRows,
    csvBytes,
    warnings: resolved.warnings,
    extractedAt: facts.snapshotAt,
    ...(setAsideValues > 0 ? { setAsideValues } : {}),
    ...(resolved.unknownColumns.length > 0 ? { unknownColumns: resolved.unknownColumns } : {}),
    ...(resolved.typeDrift.length > 0 ? { typeDrift: resolved.typeDrift } : {}),
  };
}

/** File order of a set-aside record: SET_ASIDE_TABLE's columns, then the ingestion columns. */
const SET_ASIDE_COLUMNS = [...landedColumns(SET_ASIDE_TABLE), ...INGESTION_COLUMNS].map((c) => ({ name: c.name, type: c.type }));

/** A CSV field as PostgreSQL would write it: NULL unquoted and empty, any text quoted. */
const csvField = (v: string | number | null): string => (v === null ? '' : typeof v === 'number' ? String(v) : `"${v.replaceAll('"', '""')}"`);

/**
 * The set-aside records of one invocation, streamed into their own part (opened on the first
 * record, so the common case writes nothing). Every record carries the manifest's snapshot, so a
 * continuation's records belong to the same slice as the first invocation's.
 */
class SetAsideWriter {
  private part: PartWriter | undefined;
  private readonly day: string;
  private readonly extractedAt: string;

  constructor(
    private readonly deps: ExtractDeps,
    private readonly req: ExtractRequest,
    private readonly attempt: string,
    snapshotAt: string,
  ) {
    this.day = snapshotAt.slice(0, 10);
    this.extractedAt = snapshotAt.replace('T', ' ').replace(/Z$/, '');
  }

  /** Writes the records of `descriptions` (see ResolvedColumns.setAsideSql); returns how many values they set aside. */
  async add(table: string, descriptions: string[]): Promise<number> {
    this.part ??= new PartWriter(
      this.deps.store,
      layout.part(this.req.runId, SET_ASIDE_TABLE.name, this.req.municipality, this.attempt, 0),
      SET_ASIDE_COLUMNS.map((c) => c.name).join(',') + '\n',
      this.deps.settings.gzipLevel,
    );
    const lines: string[] = [];
    for (const d of descriptions) {
      const [pk, ...values] = JSON.parse(d) as [string[], ...([string, string, string | null, number] | null)[]];
      const key = JSON.stringify(pk);
      for (const v of values) {
        if (!v) continue;
        const [column, reason, original, bytes] = v;
        lines.push([table, column, key, reason, original, bytes, this.day, this.req.municipality, this.req.runId, this.extractedAt].map(csvField).join(',') + '\n');
      }
    }
    await this.part.write(Buffer.from(lines.join('')), lines.length);
    return lines.length;
  }

  async finish(): Promise<TableExtract | undefined> {
    if (!this.part) return undefined;
    const part = await this.part.finish().catch((e: unknown) => Promise.reject(storageError(e)));
    return setAsideExtract([part], part.rows, this.part.csvBytes, this.day, this.extractedAt);
  }

  abort(err: Error): void {
    this.part?.abort(err);
  }
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

function setAsideExtract(parts: TableExtract['parts'], rows: number, csvBytes: number, day: string, extractedAt: string): TableExtract {
  return {
    table: SET_ASIDE_TABLE.name,
    window: { start: day, end: nextDay(day) },
    columns: SET_ASIDE_COLUMNS,
    parts,
    rows,
    sourceRows: rows,
    csvBytes,
    seconds: 0,
    extractedAt: `${extractedAt.replace(' ', 'T')}Z`,
    warnings: [],
  };
}

/** One slice for the municipality: a continuation's set-aside part joins the first invocation's. */
function mergeSetAside(list: (TableExtract | undefined)[]): TableExtract | undefined {
  const present = list.filter((t): t is TableExtract => t !== undefined);
  if (present.length === 0) return undefined;
  const first = present[0]!;
  return setAsideExtract(
    present.flatMap((t) => t.parts),
    present.reduce((n, t) => n + t.rows, 0),
    present.reduce((n, t) => n + t.csvBytes, 0),
    first.window!.start,
    first.extractedAt.replace('T', ' ').replace(/Z$/, ''),
  );
}

function mergeCheckpoints(cps: Checkpoint[]): { extractedAt?: string; attempt?: string; tables: TableExtract[]; failedTables: TableFailure[]; setAside?: TableExtract } {
  return {
    extractedAt: cps[0]?.extractedAt,
    attempt: cps[0]?.attempt,
    tables: cps.flatMap((c) => c.tables),
    failedTables: cps.flatMap((c) => c.failedTables),
    setAside: mergeSetAside(cps.map((c) => c.setAside)),
  };
}

/** A record written create-if-absent (false: it already exists); a failed write is a storage error. */
function once(write: Promise<boolean>): Promise<boolean> {
  return write.catch((err: unknown) => Promise.reject(storageError(err)));
}

/** A failed write to the object store is worth retrying: the attempt's parts are simply orphaned. */
function storageError(err: unknown): PipelineError {
  if (err instanceof PipelineError) return err;
  return new TransientError(`object store: ${(err as Error)?.message ?? String(err)}`, 'storage', { cause: err });
}
