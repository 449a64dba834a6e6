import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ibgeCheckDigit } from '../../shared/contracts/ibge';
import { Manifest } from '../../shared/contracts/manifest';
import { DuckDbLedger } from '../../shared/ledger/duckdb-ledger';
import { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import type { RunEvent } from '../../shared/ports';

/**
 * The ledger's live rows (ops.municipality_runs while a run goes on), written on the local
 * warehouse's one connection. Events that arrive while it is busy are written together; each row
 * still goes through every state its events give it, in order.
 */
const RUN = 'daily-20261121';
const A = '3509502';
const B = '3548500';
const C = '4106902';

function manifest(ibge: string, rows: number): Manifest {
  return Manifest.parse({
    schemaVersion: 1,
    runId: RUN,
    municipality: ibge,
    attempt: '20261121060000123-abc123',
    extractedAt: '2026-11-21T09:00:00.000Z',
    finishedAt: '2026-11-21T09:00:30.000Z',
    pecVersion: '5.3.21',
    dwProcessedAt: '2026-11-21T03:00:00',
    tables: [
      {
        table: 'tb_fat_vacinacao',
        window: { start: '2026-10-17', end: '2026-11-22' },
        columns: [{ name: 'co_seq_fat_vacinacao', type: 'bigint' }],
        parts: [{ key: `runs/${RUN}/tables/tb_fat_vacinacao/${ibge}-x-part-00000.csv.gz`, rows, bytes: 100, sha256: 'a'.repeat(64) }],
        rows,
        sourceRows: rows,
        csvBytes: 1000,
        seconds: 1,
        extractedAt: '2026-11-21T09:00:00.000Z',
        warnings: [],
      },
    ],
    failedTables: [],
  });
}

describe('the ledger live rows', () => {
  let dir: string;
  let w: DuckDbWarehouse;
  let ledger: DuckDbLedger;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-ledger-live-'));
    w = await DuckDbWarehouse.open(path.join(dir, 'w.duckdb'));
    ledger = await DuckDbLedger.open(w);
  });
  afterEach(() => {
    w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const row = async (ibge: string) =>
    (
      await w.query(
        `SELECT status, attempts::INTEGER AS attempts, rows::INTEGER AS rows, error_class, pec_version FROM ops.municipality_runs WHERE run_id = $1 AND municipality = $2`,
        [RUN, ibge],
      )
    )[0];

  it('a burst of events, several per row: every row passes through each of its states in order and ends as if written one by one', async () => {
    const seen: string[] = [];
    ledger.afterRecord = async (e) => {
      for (const m of e.kind === 'load_finished' ? [...new Set(e.outcomes.map((o) => o.municipality))] : 'municipality' in e ? [e.municipality] : []) {
        const r = (await row(m))!;
        seen.push(`${e.kind} ${m}: ${r.status}/${r.attempts}`);
      }
    };
    const events: RunEvent[] = [
      { kind: 'extract_started', runId: RUN, municipality: A, attempt: 1 },
      { kind: 'extract_started', runId: RUN, municipality: B, attempt: 1 },
      { kind: 'extract_failed', runId: RUN, municipality: A, errorClass: 'source_unreachable', message: 'connect ECONNREFUSED', willRetry: true, attempt: 1 },
      { kind: 'extract_started', runId: RUN, municipality: C, attempt: 1 },
      { kind: 'extract_started', runId: RUN, municipality: A, attempt: 2 },
      { kind: 'extract_failed', runId: RUN, municipality: B, errorClass: 'source_auth', message: 'password authentication failed', willRetry: false, attempt: 1 },
      { kind: 'extract_staged', runId: RUN, municipality: A, manifest: manifest(A, 7), alreadyDone: false },
      { kind: 'extract_staged', runId: RUN, municipality: C, manifest: manifest(C, 5), alreadyDone: false },
      {
        kind: 'load_finished',
        runId: RUN,
        loadId: 'load-1',
        missingManifests: [],
        outcomes: [
          { municipality: A, table: 'tb_fat_vacinacao', status: 'loaded', rowsDeleted: 0, rowsInserted: 7 },
          { municipality: C, table: 'tb_fat_vacinacao', status: 'failed', errorClass: 'data', message: 'line 3: not a date' },
        ],
      },
    ];
    // Recorded without waiting, as the runtime does: all of them queue before the first is written.
    await Promise.all(events.map((e) => ledger.record(e)));
    expect(seen).toEqual([
      `extract_started ${A}: extracting/1`,
      `extract_started ${B}: extracting/1`,
      `extract_failed ${A}: retrying/1`,
      `extract_started ${C}: extracting/1`,
      `extract_started ${A}: extracting/2`,
      `extract_failed ${B}: failed/1`,
      `extract_staged ${A}: staged/2`,
      `extract_staged ${C}: staged/1`,
      `load_finished ${A}: loaded/2`,
      `load_finished ${C}: failed/1`,
    ]);
    expect(await row(A)).toEqual({ status: 'loaded', attempts: 2, rows: 7, error_class: null, pec_version: '5.3.21' });
    expect(await row(B)).toEqual({ status: 'failed', attempts: 1, rows: null, error_class: 'source_auth', pec_version: null });
    expect(await row(C)).toEqual({ status: 'failed', attempts: 1, rows: 5, error_class: 'data', pec_version: '5.3.21' });
  });

  it('events that queue while the warehouse is busy are folded per row and written in a few statements, not three per event', async () => {
    const municipalities = Array.from({ length: 200 }, (_, i) => String(350000 + i)).map((six) => `${six}${ibgeCheckDigit(six)}`);
    const execute = jest.spyOn(w, 'execute');
    const query = jest.spyOn(w, 'query');
    // One burst: each row started and staged, the first one retried once in between.
    const burst: RunEvent[] = municipalities.flatMap((m, i): RunEvent[] => [
      { kind: 'extract_started', runId: RUN, municipality: m, attempt: 1 },
      ...(i === 0
        ? ([
            { kind: 'extract_failed', runId: RUN, municipality: m, errorClass: 'source_unreachable', message: 'connect ECONNREFUSED', willRetry: true, attempt: 1 },
            { kind: 'extract_started', runId: RUN, municipality: m, attempt: 2 },
          ] satisfies RunEvent[])
        : []),
      { kind: 'extract_staged', runId: RUN, municipality: m, manifest: manifest(m, 3), alreadyDone: false },
    ]);
    await Promise.all(burst.map((e) => ledger.record(e)));
    // Which runs are reported (a query), the missing rows (an INSERT), one UPDATE per kind of change (here one).
    expect(execute.mock.calls.length + query.mock.calls.length).toBe(3);
    const rows = await w.query(
      `SELECT status, attempts::INTEGER AS attempts, rows::INTEGER AS rows, error_class, count(*)::INTEGER AS n FROM ops.municipality_runs GROUP BY ALL ORDER BY attempts`,
    );
    expect(rows).toEqual([
      { status: 'staged', attempts: 1, rows: 3, error_class: null, n: 199 },
      { status: 'staged', attempts: 2, rows: 3, error_class: null, n: 1 },
    ]);
  });

  it('after the run is reported, late events no longer change its rows', async () => {
    await ledger.record({ kind: 'extract_failed', runId: RUN, municipality: A, errorClass: 'source_timeout', message: 'statement timeout', willRetry: false, attempt: 1 });
    // The run's report is written (only its ops.runs row matters here).
    await w.execute(
      `INSERT INTO ops.runs (run_id, started_at, status, municipalities_planned, municipalities_done, municipalities_loaded, municipalities_failed, municipalities_late, alerts)
       VALUES ($1, TIMESTAMP '2026-11-21 09:00:00', 'partial', 1, 0, 0, 1, 0, 0)`,
      [RUN],
    );
    await ledger.record({ kind: 'extract_started', runId: RUN, municipality: A, attempt: 2 });
    expect(await row(A)).toMatchObject({ status: 'failed', attempts: null, error_class: 'source_timeout' });
  });
});
