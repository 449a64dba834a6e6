import { applySlicesScript, ledgerReadQuery, ledgerScopeParams, LEDGER_CONFLICT, tableRef, type ApplyTable, type StagingSource } from '../../shared/adapters/gcp/bigquery-sql';
import { decideSlice, oldestExtraction, type LedgerSlice } from '../../shared/load/slice-guard';
import type { TableDef } from '../../shared/contracts/tables';
import type { SliceLoad } from '../../shared/ports';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import type { SliceOutcome } from '../../shared/ports';
import { BigQueryOnDuckDb, REWRITES, statements, translate } from '../support/bigquery-on-duckdb';
import { DIM, EVENT, FACT, TABLES, dimRows, eventRows, factRows, fileColumns, stageMunicipality, type Row } from '../support/warehouse-fixtures';

/**
 * Contract: the BigQuery load transaction, EXECUTED. bigquery-sql.contract parses the statements;
 * the fake BigQuery server (warehouse-behaviour, bigquery-warehouse.contract) runs none of them.
 * Here the generated text (`ApplyScript.sql`, exactly as the adapter sends it, and
 * `ledgerReadQuery`) runs on DuckDB through the named rewrites of test/support/bigquery-on-duckdb.ts,
 * with the adapter's own sequence (read the ledger, decide with shared/load/slice-guard.ts, build
 * the script, run it), and the tests look at the rows: raw tables, ledger, result SELECT. This
 * catches wrong joins, predicates and counts in the SQL; BigQuery-only semantics (snapshot
 * isolation, concurrent transactions, partition pruning, DML quotas) stay unexercised (docs/testing.md).
 *
 * A file of its own rather than a third warehouse in warehouse-behaviour: the slices are handed to
 * the SQL directly (staging tables filled with the rows a staging load job would have produced; no
 * bucket, manifests or load jobs), it needs no fake server, and it runs in seconds, so Stryker can
 * run it against every mutant of bigquery-sql.ts.
 */
const P = 'test-project';
const LEDGER = tableRef(P, 'ops', 'loaded_slices');
const A = '3550308';
const B = '3304557';
const W_OCT = { start: '2026-10-01', end: '2026-11-01' };
const W_NOV = { start: '2026-11-01', end: '2026-12-01' };
const T1 = '2026-11-22T09:00:00.123456Z';
const T2 = '2026-11-23T09:00:00.654321Z';

let db: BigQueryOnDuckDb;
beforeEach(async () => {
  db = await BigQueryOnDuckDb.create(P);
  for (const t of TABLES) await db.createRaw(t);
});
afterEach(() => db.close());

/** One slice as the loader hands it over, and the rows its staged files hold (municipality, run and extraction filled in). */
interface Staged {
  slice: SliceLoad;
  rows: Row[];
}
function staged(table: TableDef, municipality: string, runId: string, extractedAt: string, window: SliceLoad['window'], rows: Row[], declared = rows.length): Staged {
  const at = extractedAt.replace('T', ' ').replace('Z', '');
  return {
    slice: {
      municipality,
      runId,
      extractedAt,
      window,
      columns: fileColumns(table),
      uris: rows.length > 0 ? [`gs://b/runs/${runId}/${table.name}/${municipality}/part-00000.csv.gz`] : [],
      rows: declared,
    },
    rows: rows.map((r) => ({ _municipality_ibge: municipality, _run_id: runId, _extracted_at: at, ...r })),
  };
}

let stagingSeq = 0;
/**
 * What BigQueryWarehouse does for one load, with the SQL executed: stage (one staging table per
 * group of slices, `columns` defaulting to the table's files), read the ledger with
 * ledgerReadQuery, decide with the shared guard, build the transaction, run it. `between` runs
 * after the read and before the transaction (a concurrent load).
 */
async function load(
  loadId: string,
  tables: { table: TableDef; slices: Staged[]; staging?: { slices: Staged[]; columns?: ReturnType<typeof fileColumns> }[] }[],
  between?: () => Promise<void>,
) {
  const sources = new Map<string, StagingSource[]>();
  for (const { table, slices, staging } of tables) {
    const groups = staging ?? (slices.some((s) => s.rows.length > 0) ? [{ slices }] : []);
    const list: StagingSource[] = [];
    for (const g of groups) {
      const name = `stage_${loadId.replaceAll('-', '_')}_${stagingSeq++}`;
      const columns = g.columns ?? fileColumns(table);
      await db.createStaging(
        name,
        columns,
        g.slices.flatMap((s) => s.rows),
      );
      list.push({ ref: tableRef(P, 'ops', name), columns });
    }
    sources.set(table.name, list);
  }
  const all = tables.flatMap(({ table, slices }) => slices.map((s) => ({ table, s: s.slice })));
  const since = oldestExtraction(all.map((a) => a.s));
  const read = await readLedger(
    all.map((a) => `${a.table.name}/${a.s.municipality}`),
    since,
  );
  await between?.();
  const decided: ApplyTable[] = tables.map(({ table, slices }) => ({
    table,
    rawRef: tableRef(P, 'raw', table.name),
    staging: sources.get(table.name)!,
    slices: slices.map(({ slice }) => ({ slice, decision: decideSlice(table.name, slice, read) })),
  }));
  return db.runScript(applySlicesScript(decided, loadId, LEDGER, { ledgerRowsRead: read.length, since }));
}

async function readLedger(pairs: string[], since: string): Promise<LedgerSlice[]> {
  return (await db.runQuery(ledgerReadQuery(LEDGER), ledgerScopeParams(pairs, since))).map((r) => ({
    table: String(r.table_name),
    municipality: String(r.municipality),
    windowStart: (r.window_start as string | null) ?? null,
    windowEnd: (r.window_end as string | null) ?? null,
    extractedAt: String(r.extracted_at),
  }));
}

const fact = async (m?: string) =>
  (
    await db.query(
      `SELECT co_dim_tempo::INTEGER AS d, qt_valor::INTEGER AS v, ds_nota AS n, _municipality_ibge AS m FROM raw."${FACT.name}" ${m ? 'WHERE _municipality_ibge = $1' : ''} ORDER BY ALL`,
      m ? [m] : [],
    )
  ).map((r) => (m ? `${r.d}:${r.v}` : `${r.m}:${r.d}:${r.v}`));
const dims = async () => (await db.query(`SELECT _municipality_ibge AS m, no_item AS i FROM raw."${DIM.name}" ORDER BY ALL`)).map((r) => `${r.m}:${r.i}`);
const ledgerRows = async () =>
  db.query(
    `SELECT table_name, municipality, strftime(window_start, '%Y-%m-%d') AS ws, strftime(window_end, '%Y-%m-%d') AS we, run_id, rows_loaded::INTEGER AS n, load_id FROM ops.loaded_slices ORDER BY ALL`,
  );
const everything = async () => ({ fact: await fact(), dims: await dims(), ledger: await ledgerRows() });
const res = (table: string, municipality: string, status: string, deleted: number | null, inserted: number | null, newer: string | null = null) => ({
  table_name: table,
  municipality,
  status,
  newer_extracted_at: newer,
  message: null,
  rows_deleted: deleted,
  rows_inserted: inserted,
});

describe('the BigQuery load transaction, executed on DuckDB (contract: what the SQL does)', () => {
  it('a load: rows inserted = manifest rows, two tables in one transaction, the ledger row with rows_loaded and load_id, the result rows exactly', async () => {
    const r = await load('load-1', [
      { table: FACT, slices: [staged(FACT, A, 'daily-20261122', T1, W_NOV, factRows(1, [20261101, 20261115]))] },
      { table: DIM, slices: [staged(DIM, A, 'daily-20261122', T1, null, dimRows(1, 3))] },
    ]);
    expect(r).toEqual([res(DIM.name, A, 'load', 0, 3), res(FACT.name, A, 'load', 0, 2)]);
    expect(await fact(A)).toEqual(['20261101:1', '20261115:1']);
    expect(await dims()).toEqual([`${A}:item-1-0`, `${A}:item-1-1`, `${A}:item-1-2`]);
    expect(await ledgerRows()).toEqual([
      { table_name: DIM.name, municipality: A, ws: null, we: null, run_id: 'daily-20261122', n: 3, load_id: 'load-1' },
      { table_name: FACT.name, municipality: A, ws: W_NOV.start, we: W_NOV.end, run_id: 'daily-20261122', n: 2, load_id: 'load-1' },
    ]);
    // The ledger as the guard reads it: dates and the extraction to the microsecond, in UTC.
    expect(await readLedger([`${FACT.name}/${A}`, `${DIM.name}/${B}`], T1)).toEqual([
      { table: FACT.name, municipality: A, windowStart: W_NOV.start, windowEnd: W_NOV.end, extractedAt: T1 },
    ]);
    const at = await db.query(`SELECT count(*)::INTEGER AS n FROM ops.loaded_slices WHERE loaded_at > now() - INTERVAL 1 MINUTE AND loaded_at <= now()`);
    expect(at).toEqual([{ n: 2 }]);
  });

  it("a reload replaces exactly its window (the end is exclusive): the next window's first day, another municipality and another table stay", async () => {
    await load('load-1', [
      {
        table: FACT,
        slices: [staged(FACT, A, 'daily-20261122', T1, W_OCT, factRows(1, [20261001, 20261031])), staged(FACT, B, 'daily-20261122', T1, W_OCT, factRows(1, [20261001, 20261031]))],
      },
      { table: DIM, slices: [staged(DIM, A, 'daily-20261122', T1, null, dimRows(1))] },
    ]);
    await load('load-2', [{ table: FACT, slices: [staged(FACT, A, 'nov-20261122', T1, W_NOV, factRows(9, [20261101, 20261130]))] }]);
    const r = await load('load-3', [{ table: FACT, slices: [staged(FACT, A, 'rerun-20261123', T2, W_OCT, factRows(2, [20261015]))] }]);
    expect(r).toEqual([res(FACT.name, A, 'load', 2, 1)]);
    expect(await fact(A)).toEqual(['20261015:2', '20261101:9', '20261130:9']);
    expect(await fact(B)).toEqual(['20261001:1', '20261031:1']);
    expect(await dims()).toEqual([`${A}:item-1-0`, `${A}:item-1-1`]);
    expect((await ledgerRows()).filter((l) => l.load_id === 'load-3')).toEqual([
      { table_name: FACT.name, municipality: A, ws: W_OCT.start, we: W_OCT.end, run_id: 'rerun-20261123', n: 1, load_id: 'load-3' },
    ]);
  });

  it('slices of different windows in one load: each replaces its own window only, whatever their order (the pruning bounds span them all)', async () => {
    await load('load-1', [
      {
        table: FACT,
        slices: [
          staged(FACT, A, 'daily-20261122', T1, { start: W_OCT.start, end: W_NOV.end }, factRows(1, [20261010, 20261110])),
          staged(FACT, B, 'daily-20261122', T1, { start: W_OCT.start, end: W_NOV.end }, factRows(1, [20261010, 20261110])),
        ],
      },
    ]);
    // A's November and B's October, the later window first in the request.
    const r = await load('load-2', [
      { table: FACT, slices: [staged(FACT, A, 'nov-20261123', T2, W_NOV, factRows(2, [20261120])), staged(FACT, B, 'oct-20261123', T2, W_OCT, factRows(3, [20261020]))] },
    ]);
    expect(r).toEqual([res(FACT.name, B, 'load', 1, 1), res(FACT.name, A, 'load', 1, 1)]);
    expect(await fact(A)).toEqual(['20261010:1', '20261120:2']);
    expect(await fact(B)).toEqual(['20261020:3', '20261110:1']);
  });

  it("a window on a DATE column: its start day is replaced, the next window's first day is not", async () => {
    const days = async (m: string) =>
      (await db.query(`SELECT strftime(dt_evento, '%Y-%m-%d') AS d FROM raw."${EVENT.name}" WHERE _municipality_ibge = $1 ORDER BY 1`, [m])).map((r) => r.d);
    await load('load-1', [
      {
        table: EVENT,
        slices: [
          staged(EVENT, A, 'daily-20261122', T1, W_OCT, eventRows(1, ['2026-10-01', '2026-10-31'])),
          staged(EVENT, B, 'daily-20261122', T1, W_OCT, eventRows(1, ['2026-10-01'])),
        ],
      },
    ]);
    await load('load-2', [{ table: EVENT, slices: [staged(EVENT, A, 'nov-20261122', T1, W_NOV, eventRows(9, ['2026-11-01']))] }]);
    expect(await load('load-3', [{ table: EVENT, slices: [staged(EVENT, A, 'rerun-20261123', T2, W_OCT, eventRows(2, ['2026-10-15']))] }])).toEqual([
      res(EVENT.name, A, 'load', 2, 1),
    ]);
    expect(await days(A)).toEqual(['2026-10-15', '2026-11-01']);
    expect(await days(B)).toEqual(['2026-10-01']);
  });

  it("a full refresh replaces the municipality's whole table, nothing of another; a slice without parts replaces it with nothing", async () => {
    await load('load-1', [{ table: DIM, slices: [staged(DIM, A, 'daily-20261122', T1, null, dimRows(1, 3)), staged(DIM, B, 'daily-20261122', T1, null, dimRows(1, 1))] }]);
    expect(await load('load-2', [{ table: DIM, slices: [staged(DIM, A, 'daily-20261123', T2, null, dimRows(2, 1))] }])).toEqual([res(DIM.name, A, 'load', 3, 1)]);
    expect(await dims()).toEqual([`${B}:item-1-0`, `${A}:item-2-0`].sort());
    // No parts, no staging table: the script's empty staged-rows placeholder.
    expect(await load('load-3', [{ table: DIM, slices: [staged(DIM, A, 'daily-20261124', '2026-11-24T09:00:00Z', null, [])] }])).toEqual([res(DIM.name, A, 'load', 1, 0)]);
    expect(await dims()).toEqual([`${B}:item-1-0`]);
  });

  it('a stale slice and an already-loaded slice change nothing; their result rows say why', async () => {
    await load('load-1', [{ table: FACT, slices: [staged(FACT, A, 'daily-20261123', T2, W_NOV, factRows(2, [20261105]))] }]);
    await load('load-2', [{ table: DIM, slices: [staged(DIM, A, 'daily-20261122', T1, null, dimRows(1))] }]);
    const before = await everything();
    const r = await load('load-3', [
      { table: FACT, slices: [staged(FACT, A, 'daily-20261122', T1, W_NOV, factRows(1, [20261104, 20261106]))] },
      { table: DIM, slices: [staged(DIM, A, 'daily-20261122', T1, null, dimRows(1))] },
    ]);
    expect(r).toEqual([res(DIM.name, A, 'already_loaded', null, null), res(FACT.name, A, 'stale', null, null, T2)]);
    expect(await everything()).toEqual(before);
  });

  it('slices loading next to a stale one: only the slices to load are deleted and inserted', async () => {
    await load('load-1', [{ table: FACT, slices: [staged(FACT, B, 'daily-20261123', T2, W_NOV, factRows(2, [20261105]))] }]);
    const r = await load('load-2', [
      { table: FACT, slices: [staged(FACT, A, 'daily-20261122', T1, W_NOV, factRows(1, [20261104])), staged(FACT, B, 'daily-20261122', T1, W_NOV, factRows(1, [20261106]))] },
    ]);
    expect(r).toEqual([res(FACT.name, B, 'stale', null, null, T2), res(FACT.name, A, 'load', 0, 1)].sort((x, y) => x.municipality.localeCompare(y.municipality)));
    expect(await fact()).toEqual([`${A}:20261104:1`, `${B}:20261105:2`]);
    expect((await ledgerRows()).map((l) => `${l.municipality}:${l.load_id}`)).toEqual([`${B}:load-1`, `${A}:load-2`].sort());
  });

  it('staging tables with different column sets (a registry change mid-run): the missing column is NULL, both tables inserted', async () => {
    const a = staged(FACT, A, 'daily-20261122', T1, W_NOV, factRows(1, [20261101, 20261102]));
    const b = staged(FACT, B, 'daily-20261122', T1, W_NOV, factRows(2, [20261103]));
    const r = await load('load-1', [
      {
        table: FACT,
        slices: [a, b],
        staging: [{ slices: [a] }, { slices: [{ ...b, rows: b.rows.map(({ ds_nota: _, ...x }) => x) }], columns: fileColumns(FACT).filter((c) => c.name !== 'ds_nota') }],
      },
    ]);
    expect(r).toEqual([res(FACT.name, B, 'load', 0, 1), res(FACT.name, A, 'load', 0, 2)]);
    expect((await db.query(`SELECT _municipality_ibge AS m, co_seq::INTEGER AS s, ds_nota AS n FROM raw."${FACT.name}" ORDER BY ALL`)).map((x) => `${x.m}:${x.s}:${x.n}`)).toEqual(
      [`${B}:2000:null`, `${A}:1000:n1`, `${A}:1001:n1`].sort(),
    );
  });

  it("a staged file holding another municipality's rows: the ASSERT fails with its message and nothing is applied", async () => {
    await load('load-1', [{ table: DIM, slices: [staged(DIM, A, 'daily-20261122', T1, null, dimRows(1))] }]);
    const before = await everything();
    const bad = staged(FACT, A, 'daily-20261122', T1, W_NOV, [...factRows(1, [20261101]), { ...factRows(1, [20261102])[0]!, co_seq: 5, _municipality_ibge: B }]);
    await expect(
      load('load-2', [
        { table: DIM, slices: [staged(DIM, A, 'daily-20261123', T2, null, dimRows(2))] },
        { table: FACT, slices: [bad] },
      ]),
    ).rejects.toThrow(`${FACT.name}: staged files do not hold the rows their manifests declare`);
    expect(await everything()).toEqual(before);
  });

  it('the optimistic guard: a ledger row of the same slices added between the read and the transaction → LEDGER_CONFLICT, nothing applied; rows outside its scope do not conflict', async () => {
    const slices = () => [
      { table: FACT, slices: [staged(FACT, A, 'daily-20261123', T2, W_NOV, factRows(2, [20261105]))] },
      { table: DIM, slices: [staged(DIM, A, 'daily-20261123', T2, null, dimRows(2))] },
    ];
    const ledgerRow = (table: string, m: string, at: string) =>
      db.insert(
        'ops.loaded_slices',
        ['table_name', 'municipality', 'window_start', 'window_end', 'run_id', 'extracted_at', 'rows_loaded', 'load_id', 'loaded_at'],
        [{ table_name: table, municipality: m, window_start: null, window_end: null, run_id: 'other-run', extracted_at: at, rows_loaded: 0, load_id: 'other', loaded_at: at }],
      );
    // Another municipality, another table's pair, an extraction before the oldest slice: not the guard's rows.
    await expect(
      load('load-1', slices(), async () => {
        await ledgerRow(FACT.name, B, '2026-11-24 00:00:00+00');
        await ledgerRow(EVENT.name, A, '2026-11-24 00:00:00+00');
        await ledgerRow(FACT.name, A, '2026-11-23 09:00:00.654320+00');
      }),
    ).resolves.toEqual([res(DIM.name, A, 'load', 0, 2), res(FACT.name, A, 'load', 0, 1)]);
    const before = await everything();
    // A concurrent load committed a row of one of these pairs (at the oldest extraction, the scope's bound).
    await expect(load('load-2', slices(), () => ledgerRow(DIM.name, A, '2026-11-23 09:00:00.654321+00'))).rejects.toThrow(LEDGER_CONFLICT);
    expect({ ...(await everything()), ledger: (await ledgerRows()).filter((l) => l.load_id !== 'other') }).toEqual({
      ...before,
      ledger: before.ledger.filter((l) => l.load_id !== 'other'),
    });
  });

  it('files without a staging table are refused, also when another slice of the table has none', () => {
    const withFiles = staged(DIM, A, 'daily-20261122', T1, null, dimRows(1));
    const empty = staged(DIM, B, 'daily-20261122', T1, null, []);
    const table = (slices: Staged[]): ApplyTable => ({
      table: DIM,
      rawRef: tableRef(P, 'raw', DIM.name),
      staging: [],
      slices: slices.map((x) => ({ slice: x.slice, decision: { status: 'load' } })),
    });
    const guard = { ledgerRowsRead: 0, since: T1 };
    expect(() => applySlicesScript([table([empty, withFiles])], 'load-1', LEDGER, guard)).toThrow(`${DIM.name}: no staging table`);
    expect(() => applySlicesScript([table([empty])], 'load-1', LEDGER, guard)).not.toThrow();
  });

  it('a load with nothing to load (every slice already loaded) runs, writes nothing and answers every slice', async () => {
    await load('load-1', [{ table: DIM, slices: [staged(DIM, A, 'daily-20261122', T1, null, dimRows(1))] }]);
    const before = await everything();
    expect(await load('load-2', [{ table: DIM, slices: [staged(DIM, A, 'daily-20261122', T1, null, dimRows(1))] }])).toEqual([res(DIM.name, A, 'already_loaded', null, null)]);
    expect(await everything()).toEqual(before);
  });
});

describe('the same slices through the local DuckDbWarehouse: the same outcomes, rows and ledger', () => {
  it('load, reload of one window, already loaded, stale: both warehouses agree', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-on-duckdb-'));
    const store = new FsObjectStore(path.join(dir, 'bucket'));
    const local = await DuckDbWarehouse.open(path.join(dir, 'w.duckdb'));
    try {
      await local.ensureRawTables(TABLES);
      /** One load on both: the local warehouse reads the staged files, the executed script the same rows from staging tables. */
      const both = async (loadId: string, slices: { table: TableDef; s: Staged; files: SliceLoad }[]) => {
        const byTable = (pick: (x: (typeof slices)[number]) => SliceLoad | Staged) =>
          [...new Set(slices.map((x) => x.table))].map((table) => ({ table, slices: slices.filter((x) => x.table === table).map(pick) }));
        const localOutcomes = await local.replaceSlices(byTable((x) => x.files) as { table: TableDef; slices: SliceLoad[] }[], loadId);
        const executed = (await load(loadId, byTable((x) => x.s) as { table: TableDef; slices: Staged[] }[])).map((r): SliceOutcome =>
          r.status === 'load'
            ? { municipality: r.municipality, table: r.table_name, status: 'loaded', rowsDeleted: r.rows_deleted!, rowsInserted: r.rows_inserted! }
            : r.status === 'stale'
              ? { municipality: r.municipality, table: r.table_name, status: 'stale', newerExtractedAt: r.newer_extracted_at! }
              : { municipality: r.municipality, table: r.table_name, status: r.status as 'already_loaded' },
        );
        const order = (o: SliceOutcome[]) => [...o].sort((a, b) => `${a.table}/${a.municipality}`.localeCompare(`${b.table}/${b.municipality}`));
        expect(order(executed)).toEqual(order(localOutcomes));
        return executed;
      };
      /** A slice staged as files (for the local warehouse) and as rows (for the executed script). */
      const slice = async (table: TableDef, m: string, runId: string, at: string, window: SliceLoad['window'], rows: Row[]) => {
        const manifest = await stageMunicipality(store, runId, m, at, [{ table, window, rows }]);
        const t = manifest.tables[0]!;
        const files: SliceLoad = {
          municipality: m,
          runId,
          extractedAt: t.extractedAt,
          window: t.window,
          columns: t.columns,
          uris: t.parts.map((p) => store.loadUri(p.key)),
          rows: t.rows,
        };
        return { table, s: staged(table, m, runId, at, window, rows), files };
      };
      const oct = await slice(FACT, A, 'daily-20261122', T1, W_OCT, factRows(1, [20261001, 20261031]));
      const octB = await slice(FACT, B, 'daily-20261122', T1, W_OCT, factRows(1, [20261001]));
      const dim = await slice(DIM, A, 'dim-20261122', T1, null, dimRows(1, 3));
      expect((await both('load-1', [oct, octB, dim])).map((o) => o.status)).toEqual(['loaded', 'loaded', 'loaded']);
      await both('load-2', [await slice(FACT, A, 'nov-20261122', T1, W_NOV, factRows(9, [20261101, 20261130]))]);
      const rerun = await slice(FACT, A, 'rerun-20261123', T2, W_OCT, factRows(2, [20261015]));
      expect(await both('load-3', [rerun, octB, dim])).toEqual([
        { municipality: A, table: DIM.name, status: 'already_loaded' },
        { municipality: B, table: FACT.name, status: 'already_loaded' },
        { municipality: A, table: FACT.name, status: 'loaded', rowsDeleted: 2, rowsInserted: 1 },
      ]);
      // An older extraction of the reloaded window (not the one in the ledger): stale.
      const late = await slice(FACT, A, 'late-20261122', '2026-11-22T10:00:00Z', W_OCT, factRows(3, [20261002]));
      expect(await both('load-4', [late])).toEqual([{ municipality: A, table: FACT.name, status: 'stale', newerExtractedAt: T2 }]);
      const rowsOf = (q: (sql: string) => Promise<Record<string, unknown>[]>) =>
        q(
          `SELECT _municipality_ibge AS m, co_seq::INTEGER AS s, co_dim_tempo::INTEGER AS d, qt_valor::INTEGER AS v, ds_nota AS n, _run_id AS r FROM raw."${FACT.name}" ORDER BY ALL`,
        );
      const ledgerOf = (q: (sql: string) => Promise<Record<string, unknown>[]>) =>
        q(`SELECT table_name, municipality, strftime(window_start, '%Y-%m-%d') AS ws, run_id, rows_loaded::INTEGER AS n, load_id FROM ops.loaded_slices ORDER BY ALL`);
      expect(await rowsOf((q) => db.query(q))).toEqual(await rowsOf((q) => local.query(q)));
      expect(await ledgerOf((q) => db.query(q))).toEqual(await ledgerOf((q) => local.query(q)));
      expect(await ledgerOf((q) => db.query(q))).toHaveLength(5);
    } finally {
      local.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the rewrites of bigquery-on-duckdb (each named; anything left untranslated throws)', () => {
  const params = ledgerScopeParams([`${FACT.name}/${A}`], T1);
  it('lists its rewrites', () => {
    expect(REWRITES.map((r) => r.name)).toEqual([
      'assert',
      'delete-alias',
      'table-ref',
      'in-unnest',
      'from-unnest',
      'scalar-param',
      'format-timestamp',
      'format-date',
      'current-timestamp',
      'cast-type',
    ]);
  });
  it('translates the ledger read', () => {
    expect(translate(ledgerReadQuery(LEDGER), params, P)).toBe(
      `SELECT l.table_name, l.municipality, strftime(l.window_start, '%Y-%m-%d') AS window_start, strftime(l.window_end, '%Y-%m-%d') AS window_end, ` +
        `strftime(timezone('UTC', l.extracted_at), '%Y-%m-%dT%H:%M:%S.%fZ') AS extracted_at FROM "ops"."loaded_slices" AS l WHERE l.extracted_at >= CAST($since AS TIMESTAMPTZ) ` +
        `AND CONCAT(l.table_name, '/', l.municipality) IN (SELECT v FROM _param_pairs)`,
    );
  });
  it('throws on what it does not translate', () => {
    expect(() => translate('SELECT SAFE.PARSE_DATE(x)', params, P)).toThrow(/untranslated GoogleSQL "SAFE\."/);
    expect(() => translate('SELECT * FROM `other-project.ops.t`', params, P)).toThrow('table of project other-project');
    expect(() => translate('SELECT @nope', params, P)).toThrow('@nope is not a scalar parameter');
    expect(() => translate('SELECT 1 FROM UNNEST(@pairs)', params, P)).toThrow('needs an ARRAY of STRUCTs');
    expect(() => translate("SELECT FORMAT_TIMESTAMP('%c', x, 'UTC')", params, P)).toThrow('format element %c');
    expect(() => translate("SELECT FORMAT_TIMESTAMP('%Y', x, 'America/Sao_Paulo')", params, P)).toThrow('zone America/Sao_Paulo');
    expect(() => translate('SELECT CAST(x AS BYTES)', params, P)).not.toThrow(); // not BigQuery-only text: DuckDB itself rejects it
    expect(() => translate('SELECT CAST(x AS STRUCT<a INT64>)', params, P)).toThrow(/untranslated/);
    expect(() => statements('SELECT 1')).toThrow('does not end with ";"');
  });
});
