import { BigQuery } from '@google-cloud/bigquery';
import { BigQueryWarehouse } from '../../shared/adapters/gcp/bigquery-warehouse';
import { rawTableSchema, YYYYMMDD_MONTH_RANGE } from '../../shared/adapters/gcp/bigquery-schema';
import { PipelineError, TerminalError } from '../../shared/errors';
import type { SliceLoad, SliceOutcome } from '../../shared/ports';
import { getTable, PEC_TABLES } from '../../shared/tables/pec-tables';
import { startFakeBigQueryServer, type FakeBigQueryServer, type JobResource } from '../support/fake-bigquery-server';
import { LEDGER_CONFLICT, sliceParams } from '../../shared/adapters/gcp/bigquery-sql';

/**
 * Contract: the requests the BigQuery warehouse adapter makes through the real
 * @google-cloud/bigquery client: table definitions, load jobs (explicit schema, CSV options,
 * deterministic ids, one job per table), the one transaction per load, and how job outcomes
 * (409 already exists, transient and terminal failures, running jobs) are handled. The server is
 * test/support/fake-bigquery-server.ts: it checks requests and plays back job outcomes; it runs no
 * SQL (the SQL itself is checked by bigquery-sql.contract.test.ts).
 */
const PROJECT = 'test-project';

type LedgerRow = { table_name: string; municipality: string; window_start: string | null; window_end: string | null; extracted_at: string };
const LEDGER_SCHEMA = ['table_name', 'municipality', 'window_start', 'window_end', 'extracted_at'].map((name) => ({ name, type: 'STRING' }));
const RESULT_SCHEMA = [
  { name: 'table_name', type: 'STRING' },
  { name: 'municipality', type: 'STRING' },
  { name: 'status', type: 'STRING' },
  { name: 'newer_extracted_at', type: 'STRING' },
  { name: 'message', type: 'STRING' },
  { name: 'rows_deleted', type: 'INTEGER' },
  { name: 'rows_inserted', type: 'INTEGER' },
];
const isLedgerRead = (j: JobResource) => /-ledger-[0-9a-f]{8}$/.test(j.jobReference.jobId);
const paramOf = (j: JobResource, name: string) => j.configuration.query!.queryParameters!.find((p) => p.name === name)!;

// @google-cloud/bigquery sends requests through teeny-request, which loads node-fetch with a dynamic
// import(): inside jest that needs Node's --experimental-vm-modules (`npm test` sets it).
if (!`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`.includes('--experimental-vm-modules'))
  throw new Error('run this suite with NODE_OPTIONS=--experimental-vm-modules (as `npm test` does): the BigQuery client needs dynamic import()');
const LOCATION = 'southamerica-east1';
const FACT = getTable('tb_fat_atendimento_individual');
const DIM = getTable('tb_dim_equipe');

// Authenticated requests without Google: a fixed bearer token (the server checks it is sent).
const staticAuth = { getRequestHeaders: async () => new Headers({ authorization: 'Bearer contract-test' }), getProjectId: async () => PROJECT };

const columnsOf = (t: typeof FACT) => [
  ...t.columns.filter((c) => c.pii?.policy === 'hash').map((c) => ({ name: c.name, type: 'text' as const })),
  ...t.columns.filter((c) => !c.pii || c.pii.policy === 'keep').map((c) => ({ name: c.name, type: c.type })),
  { name: '_municipality_ibge', type: 'text' as const },
  { name: '_run_id', type: 'text' as const },
  { name: '_extracted_at', type: 'timestamp' as const },
];

function slice(table: typeof FACT, municipality: string, rows: number, parts = 1): SliceLoad {
  return {
    municipality,
    runId: 'daily-20261122',
    extractedAt: '2026-11-22T09:00:00.123456Z',
    window: table.mode.kind === 'window' ? { start: '2026-10-18', end: '2026-11-23' } : null,
    columns: columnsOf(table),
    uris: Array.from(
      { length: parts },
      (_, i) => `gs://pec-staging/runs/daily-20261122/tables/${table.name}/${municipality}/20261122-abc/part-${String(i).padStart(5, '0')}.csv.gz`,
    ),
    rows,
  };
}

describe('BigQueryWarehouse against the BigQuery REST API (contract)', () => {
  let fake: FakeBigQueryServer;
  let bq: BigQuery;
  // A short job wait (the default is 400 s): every fake job here finishes within a few polls, so a
  // change that makes the adapter wait for ever (a mutant, a bug) fails the test within seconds, as a
  // transient "still running" error, instead of holding it for jest's or Stryker's whole limit.
  const warehouse = (overrides: Partial<ConstructorParameters<typeof BigQueryWarehouse>[1]> = {}) =>
    new BigQueryWarehouse(bq, { projectId: PROJECT, location: LOCATION, rawDataset: 'raw', opsDataset: 'ops', pollMs: { initial: 5, max: 10 }, jobWaitMs: 3_000, ...overrides });
  const allJobPosts = () => fake.requests.filter((r) => r.method === 'POST' && r.path === `/bigquery/v2/projects/${PROJECT}/jobs`).map((r) => r.json as JobResource);
  /** Jobs that change something (staging loads, the transaction): ledger reads aside. */
  const jobPosts = () => allJobPosts().filter((j) => !isLedgerRead(j));
  const ledgerReads = () => allJobPosts().filter(isLedgerRead);

  beforeAll(async () => {
    fake = await startFakeBigQueryServer();
    bq = new BigQuery({ projectId: PROJECT, location: LOCATION, apiEndpoint: fake.url, authClient: staticAuth as never, autoRetry: false });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.jobs.clear();
    fake.tables.clear();
    fake.beforeAnswer = () => undefined;
  });

  /**
   * Plays BigQuery without choosing any decision: load jobs stage what their files declare; the
   * ledger read answers `ledger` (the ledger's content, an input of the test); the apply script's
   * result echoes its @slices parameter (the statuses the adapter decided), loaded slices with the
   * rows their manifests declare.
   */
  function playBigQuery(rowsPerUri: Map<string, number>, ledger: LedgerRow[] = []) {
    fake.onJob = (job) => {
      if (job.configuration.load) return { outputRows: job.configuration.load.sourceUris.reduce((n, u) => n + (rowsPerUri.get(u) ?? 0), 0) };
      if (isLedgerRead(job)) return { rows: ledger.map((l) => ({ ...l })), schema: LEDGER_SCHEMA };
      return {
        rows: sliceParams(job.configuration.query!.queryParameters ?? []).map((p) => ({
          table_name: p.table_name,
          municipality: p.municipality,
          status: p.status,
          newer_extracted_at: p.newer_extracted_at,
          message: p.message,
          rows_deleted: p.status === 'load' ? 7 : null,
          rows_inserted: p.status === 'load' ? Number(p.rows_expected) : null,
        })),
        schema: RESULT_SCHEMA,
      };
    };
  }
  const rowsByUri = (...slices: SliceLoad[]) => new Map(slices.flatMap((s) => s.uris.map((u) => [u, s.rows / s.uris.length] as const)));

  it('creates missing raw tables partitioned and clustered from the registry, and the slice ledger; leaves existing ones alone', async () => {
    await warehouse().ensureRawTables([FACT, DIM]);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a BigQuery REST table resource as sent, read field by field
    const created = fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/tables')).map((r) => r.json as Record<string, any>);
    expect(created.map((t) => `${t.tableReference.datasetId}.${t.tableReference.tableId}`)).toEqual(['ops.loaded_slices', `raw.${FACT.name}`, `raw.${DIM.name}`]);
    const fact = created[1]!;
    expect(fact.rangePartitioning).toEqual({ field: 'co_dim_tempo', range: { start: '20000000', end: '20500000', interval: '100' } });
    expect(fact.clustering).toEqual({ fields: ['_municipality_ibge', 'co_dim_tempo'] });
    expect(fact.schema.fields.map((f: { name: string }) => f.name)).toEqual(rawTableSchema(FACT).fields.map((f) => f.name));
    expect(fact.schema.fields.find((f: { name: string }) => f.name === '_extracted_at')).toMatchObject({ type: 'DATETIME', mode: 'REQUIRED' });
    const dim = created[2]!;
    expect(dim.rangePartitioning).toBeUndefined();
    expect(dim.timePartitioning).toBeUndefined();
    expect(dim.clustering).toEqual({ fields: ['_municipality_ibge'] });
    expect(created[0]!.schema.fields.find((f: { name: string }) => f.name === 'extracted_at')).toMatchObject({ type: 'TIMESTAMP' });
    expect(fake.requests.every((r) => r.headers.authorization === 'Bearer contract-test')).toBe(true);

    fake.requests.length = 0;
    await warehouse().ensureRawTables([FACT, DIM]);
    expect(fake.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('every registry table gets a valid definition: ≤ 10,000 partitions, ≤ 4 clustering columns, municipality first', () => {
    expect((YYYYMMDD_MONTH_RANGE.end - YYYYMMDD_MONTH_RANGE.start) / YYYYMMDD_MONTH_RANGE.interval).toBeLessThanOrEqual(10_000);
    for (const t of PEC_TABLES) {
      const spec = rawTableSchema(t);
      expect(spec.clustering.length).toBeLessThanOrEqual(4);
      expect(spec.clustering[0]).toBe('_municipality_ibge');
      for (const c of spec.clustering) expect(spec.fields.some((f) => f.name === c)).toBe(true);
      expect(new Set(spec.fields.map((f) => f.name)).size).toBe(spec.fields.length);
      if (t.mode.kind === 'window') expect(spec.rangePartitioning?.field ?? spec.timePartitioning?.field).toBe(t.mode.column);
    }
  });

  it("one load job per table over all municipalities' files, explicit schema and CSV options, then one transaction", async () => {
    const loads = [
      { table: FACT, slices: [slice(FACT, '3550308', 30, 2), slice(FACT, '3304557', 12)] },
      { table: DIM, slices: [slice(DIM, '3550308', 4), slice(DIM, '3304557', 3)] },
    ];
    playBigQuery(rowsByUri(...loads.flatMap((l) => l.slices)));
    const loadId = 'load-daily-20261122-0123456789ab';
    const outcomes = await warehouse().replaceSlices(loads, loadId);

    const jobs = jobPosts();
    expect(jobs.map((j) => j.jobReference.jobId)).toEqual([`${loadId}-${FACT.name}-0-a0`, `${loadId}-${DIM.name}-0-a0`, `${loadId}-apply-a0`]);
    expect(jobs.every((j) => j.jobReference.location === LOCATION)).toBe(true);
    const load = jobs[0]!.configuration.load!;
    expect(load).toMatchObject({
      sourceFormat: 'CSV',
      skipLeadingRows: 1,
      allowQuotedNewlines: true,
      fieldDelimiter: ',',
      quote: '"',
      encoding: 'UTF-8',
      maxBadRecords: 0,
      writeDisposition: 'WRITE_TRUNCATE',
      createDisposition: 'CREATE_NEVER',
      destinationTable: { projectId: PROJECT, datasetId: 'ops', tableId: `stage_load_daily_20261122_0123456789ab_${FACT.name}_0` },
    });
    expect(load.autodetect).toBeUndefined();
    // All municipalities' files in one job, in IBGE order; the schema is the files' columns in order.
    expect(load.sourceUris).toEqual([...slice(FACT, '3304557', 12).uris, ...slice(FACT, '3550308', 30, 2).uris]);
    expect((load.schema as { fields: { name: string; type: string }[] }).fields.map((f) => `${f.name}:${f.type}`)).toEqual(
      columnsOf(FACT).map(
        (c) =>
          `${c.name}:${{ text: 'STRING', bigint: 'INT64', integer: 'INT64', timestamp: 'DATETIME', double: 'FLOAT64', numeric: 'NUMERIC', date: 'DATE', smallint: 'INT64' }[c.type]}`,
      ),
    );
    expect(jobs[0]!.configuration.labels).toMatchObject({ pipeline: 'pec', run: 'daily-20261122', step: 'stage', table: FACT.name });

    // The staging tables were created first, with an expiry, and dropped after the transaction.
    const stagingCreates = fake.requests
      .filter((r) => r.method === 'POST' && r.path === `/bigquery/v2/projects/${PROJECT}/datasets/ops/tables`)
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a BigQuery REST table resource as sent, read field by field
      .map((r) => r.json as Record<string, any>);
    expect(stagingCreates.map((t) => t.tableReference.tableId)).toEqual(
      expect.arrayContaining([`stage_load_daily_20261122_0123456789ab_${FACT.name}_0`, `stage_load_daily_20261122_0123456789ab_${DIM.name}_0`]),
    );
    expect(stagingCreates.every((t) => t.tableReference.tableId === 'loaded_slices' || Number(t.expirationTime) > Date.now())).toBe(true);
    // Each staging table is created with its files' columns, in file order.
    const factStaging = stagingCreates.find((t) => t.tableReference.tableId === `stage_load_daily_20261122_0123456789ab_${FACT.name}_0`)!;
    expect(factStaging.schema.fields.map((f: { name: string }) => f.name)).toEqual(columnsOf(FACT).map((c) => c.name));
    expect([...fake.tables.keys()].filter((k) => k.startsWith('ops.stage_'))).toEqual([]);

    const apply = jobs[2]!.configuration.query!;
    expect(apply.useLegacySql).toBe(false);
    expect(apply.query).toMatch(/^BEGIN TRANSACTION;$/m);
    expect(apply.query).toMatch(/^COMMIT TRANSACTION;$/m);
    expect(apply.query.match(/^DELETE /gm)).toHaveLength(2); // one per table
    expect(apply.query.match(/^INSERT INTO `test-project\.raw\./gm)).toHaveLength(2); // one per table
    expect(apply.query.match(/^INSERT INTO `test-project\.ops\.loaded_slices`/gm)).toHaveLength(1); // one per load
    expect(apply.query).toContain(`\`test-project.ops.stage_load_daily_20261122_0123456789ab_${FACT.name}_0\``);
    // Values travel as parameters, never in the statement text; the decisions are the adapter's.
    expect(apply.parameterMode).toBe('NAMED');
    for (const v of ['3550308', '3304557', '2026-10-18', '20261018', '20261123', '09:00:00']) expect(apply.query).not.toContain(v);
    expect(sliceParams(apply.queryParameters!).map((p) => [p.table_name, p.municipality, p.status, p.window_start_key, p.window_end_key, p.rows_expected])).toEqual([
      [FACT.name, '3550308', 'load', '20261018', '20261123', '30'],
      [FACT.name, '3304557', 'load', '20261018', '20261123', '12'],
      [DIM.name, '3550308', 'load', null, null, '4'],
      [DIM.name, '3304557', 'load', null, null, '3'],
    ]);
    expect(paramOf(jobs[2]!, 'munis_0').parameterValue.arrayValues!.map((v) => v.value)).toEqual(['3304557', '3550308']);
    expect([paramOf(jobs[2]!, 'lo_0').parameterValue.value, paramOf(jobs[2]!, 'hi_0').parameterValue.value]).toEqual(['20261018', '20261123']);
    // The guard read the ledger once, for exactly the request's pairs since its oldest extraction; the
    // transaction re-counts those rows (optimistic concurrency).
    expect(ledgerReads()).toHaveLength(1);
    const read = ledgerReads()[0]!.configuration.query!;
    expect(read.queryParameters!.find((p) => p.name === 'pairs')!.parameterValue.arrayValues!.map((v) => v.value)).toEqual([
      `${FACT.name}/3550308`,
      `${FACT.name}/3304557`,
      `${DIM.name}/3550308`,
      `${DIM.name}/3304557`,
    ]);
    expect(read.queryParameters!.find((p) => p.name === 'since')!.parameterValue.value).toBe('2026-11-22 09:00:00.123456+00:00');
    // BigQuery's default is legacy SQL, and named parameters need NAMED mode: the read says both.
    expect([read.useLegacySql, read.parameterMode]).toEqual([false, 'NAMED']);
    // Cleanup deletes the staging tables and nothing else.
    expect(
      fake.requests
        .filter((r) => r.method === 'DELETE')
        .map((r) => r.path.replace(`/bigquery/v2/projects/${PROJECT}/datasets/`, ''))
        .sort(),
    ).toEqual([`ops/tables/stage_load_daily_20261122_0123456789ab_${DIM.name}_0`, `ops/tables/stage_load_daily_20261122_0123456789ab_${FACT.name}_0`]);
    expect(paramOf(jobs[2]!, 'ledger_rows_read').parameterValue.value).toBe('0');
    expect(apply.query).toContain(
      `ASSERT (SELECT COUNT(*) FROM \`test-project.ops.loaded_slices\` AS l WHERE l.extracted_at >= @since AND CONCAT(l.table_name, '/', l.municipality) IN UNNEST(@pairs)) = @ledger_rows_read`,
    );

    expect(outcomes).toEqual([
      { municipality: '3550308', table: FACT.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 30 },
      { municipality: '3304557', table: FACT.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 12 },
      { municipality: '3550308', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 4 },
      { municipality: '3304557', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 3 },
    ]);
  });

  it('a redelivered load finds its committed transaction by job id: no new job, same outcomes', async () => {
    const loads = [{ table: FACT, slices: [slice(FACT, '3550308', 5)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const first = await warehouse().replaceSlices(loads, 'load-daily-20261122-aaaaaaaaaaaa');
    const before = jobPosts().length;
    const again = await warehouse().replaceSlices(loads, 'load-daily-20261122-aaaaaaaaaaaa');
    expect(again).toEqual(first);
    expect(jobPosts().length).toBe(before);
  });

  it('the guard is decided from the ledger rows read: already loaded, stale, load — and the transaction only carries the decisions', async () => {
    const loads = [{ table: FACT, slices: [slice(FACT, '3550308', 5), slice(FACT, '3304557', 6), slice(FACT, '4106902', 2)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices), [
      // 3550308: the same slice from the same extraction.
      { table_name: FACT.name, municipality: '3550308', window_start: '2026-10-18', window_end: '2026-11-23', extracted_at: '2026-11-22T09:00:00.123456Z' },
      // 3304557: an overlapping window from a newer extraction (one microsecond newer).
      { table_name: FACT.name, municipality: '3304557', window_start: '2026-11-01', window_end: '2026-12-01', extracted_at: '2026-11-22T09:00:00.123457Z' },
      // 4106902: a newer extraction of a window that ends where this one starts (exclusive end): no overlap.
      { table_name: FACT.name, municipality: '4106902', window_start: '2026-09-01', window_end: '2026-10-18', extracted_at: '2026-11-23T09:00:00.000000Z' },
    ]);
    expect(await warehouse().replaceSlices(loads, 'load-x-bbbbbbbbbbbb')).toEqual([
      { municipality: '3550308', table: FACT.name, status: 'already_loaded' },
      { municipality: '3304557', table: FACT.name, status: 'stale', newerExtractedAt: '2026-11-22T09:00:00.123457Z' },
      { municipality: '4106902', table: FACT.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 2 },
    ]);
    const apply = jobPosts().find((j) => j.configuration.query)!;
    expect(sliceParams(apply.configuration.query!.queryParameters!).map((p) => `${p.municipality}:${p.status}`)).toEqual([
      '3550308:already_loaded',
      '3304557:stale',
      '4106902:load',
    ]);
    expect(paramOf(apply, 'munis_0').parameterValue.arrayValues!.map((v) => v.value)).toEqual(['4106902']);
    expect(paramOf(apply, 'ledger_rows_read').parameterValue.value).toBe('3');
  });

  it('nothing to load (all already loaded or stale): no transaction at all', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices), [
      { table_name: DIM.name, municipality: '3550308', window_start: null, window_end: null, extracted_at: '2026-11-22T09:00:00.123456Z' },
    ]);
    expect(await warehouse().replaceSlices(loads, 'load-x-cccccccccccc')).toEqual([{ municipality: '3550308', table: DIM.name, status: 'already_loaded' }]);
    expect(jobPosts().some((j) => j.configuration.query)).toBe(false);
  });

  it('a concurrent load that changed the ledger fails the optimistic ASSERT: transient, read again, decide again under the next job id', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    const ledger: LedgerRow[] = [];
    playBigQuery(rowsByUri(...loads[0]!.slices), ledger);
    const play = fake.onJob;
    fake.onJob = (job) => {
      if (job.jobReference.jobId.endsWith('-apply-a0')) {
        // Another load committed a newer extraction of this slice between the read and the transaction.
        ledger.push({ table_name: DIM.name, municipality: '3550308', window_start: null, window_end: null, extracted_at: '2026-11-22T10:00:00.000000Z' });
        return { error: { reason: 'invalidQuery', message: `${LEDGER_CONFLICT} at [3:1]` } };
      }
      return play(job);
    };
    expect(await warehouse().replaceSlices(loads, 'load-c-dddddddddddd')).toEqual([
      { municipality: '3550308', table: DIM.name, status: 'stale', newerExtractedAt: '2026-11-22T10:00:00.000000Z' },
    ]);
    expect(ledgerReads()).toHaveLength(2);
    expect(jobPosts().map((j) => j.jobReference.jobId)).toEqual([`load-c-dddddddddddd-${DIM.name}-0-a0`, 'load-c-dddddddddddd-apply-a0']);
  });

  it('a conflict found while waiting for a running transaction is retried the same way', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    const ledger: LedgerRow[] = [];
    playBigQuery(rowsByUri(...loads[0]!.slices), ledger);
    const play = fake.onJob;
    fake.onJob = (job) => {
      if (job.jobReference.jobId.endsWith('-apply-a0')) return { runningPolls: 2, error: { reason: 'invalidQuery', message: `${LEDGER_CONFLICT} at [3:1]` } };
      return play(job);
    };
    expect(await warehouse().replaceSlices(loads, 'load-c-eeeeeeeeeeee')).toEqual([
      { municipality: '3550308', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 4 },
    ]);
    expect(ledgerReads()).toHaveLength(2);
    expect(jobPosts().map((j) => j.jobReference.jobId)).toEqual([`load-c-eeeeeeeeeeee-${DIM.name}-0-a0`, 'load-c-eeeeeeeeeeee-apply-a0', 'load-c-eeeeeeeeeeee-apply-a1']);
  });

  it('a job that failed transiently spends its id: the next attempt is -a1; a job found with 409 is reused', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    const rows = rowsByUri(...loads[0]!.slices);
    playBigQuery(rows);
    const play = fake.onJob;
    let failed = false;
    fake.onJob = (job) => (job.configuration.load && !failed ? ((failed = true), { error: { reason: 'backendError', message: 'try again' } }) : play(job));
    await warehouse().replaceSlices(loads, 'load-r-cccccccccccc');
    expect(jobPosts().map((j) => j.jobReference.jobId)).toEqual([`load-r-cccccccccccc-${DIM.name}-0-a0`, `load-r-cccccccccccc-${DIM.name}-0-a1`, 'load-r-cccccccccccc-apply-a0']);
    expect(ledgerReads()).toHaveLength(1);
  });

  it('a redelivery while the transaction is still running reuses the staging jobs (409) and waits for the same transaction', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const play = fake.onJob;
    // Only the transaction runs long: a ledger read held for 1,000 polls made this test take a minute.
    fake.onJob = (job) => ({ ...play(job), ...(job.configuration.query && !isLedgerRead(job) ? { runningPolls: 1_000 } : {}) });
    await expect(warehouse({ jobWaitMs: 30 }).replaceSlices(loads, 'load-r-dddddddddddd')).rejects.toMatchObject({ transient: true });

    // The transaction finishes while the message waits for its redelivery.
    const apply = fake.jobs.get('load-r-dddddddddddd-apply-a0')!;
    apply.outcome.runningPolls = apply.polls + 2;
    fake.requests.length = 0;
    await expect(warehouse().replaceSlices(loads, 'load-r-dddddddddddd')).resolves.toEqual([
      { municipality: '3550308', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 4 },
    ]);
    expect(jobPosts().map((j) => j.jobReference.jobId)).toEqual([`load-r-dddddddddddd-${DIM.name}-0-a0`, 'load-r-dddddddddddd-apply-a0']);
    expect([...fake.jobs.keys()].filter((id) => !/-ledger-/.test(id))).toHaveLength(2); // nothing ran twice
  });

  it('a terminal job error (invalid) is a TerminalError and no transaction runs', async () => {
    fake.onJob = (job) =>
      job.configuration.load ? { error: { reason: 'invalid', message: 'Error while reading data, error message: CSV table encountered too many errors' } } : { rows: [] };
    const err = await warehouse()
      .replaceSlices([{ table: DIM, slices: [slice(DIM, '3550308', 4)] }], 'load-t-dddddddddddd')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err).toMatchObject({ errorClass: 'warehouse' });
    // Nothing to withhold in this message: the error keeps BigQuery's own as its cause.
    expect((err as Error).cause).toMatchObject({ message: 'Error while reading data, error message: CSV table encountered too many errors' });
    expect(jobPosts().some((j) => j.configuration.query)).toBe(false);
  });

  it('a staging load whose row count differs from the manifests fails that slice (data); the others are staged alone and land', async () => {
    const slices = [slice(DIM, '3550308', 4), slice(DIM, '3304557', 3)];
    const rows = rowsByUri(...slices);
    rows.set(slices[0]!.uris[0]!, 3); // 3550308's file holds one row fewer than its manifest declares
    playBigQuery(rows);
    const outcomes = await warehouse().replaceSlices([{ table: DIM, slices }], 'load-u-eeeeeeeeeeee');
    expect(outcomes).toEqual([
      {
        municipality: '3550308',
        table: DIM.name,
        status: 'failed',
        errorClass: 'data',
        message: expect.stringMatching(/^tb_dim_equipe\/3550308: the manifest declares 4 rows, load job .* staged 3$/),
      },
      { municipality: '3304557', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 3 },
    ]);
    expect(
      jobPosts()
        .map((j) => j.jobReference.jobId)
        .sort(),
    ).toEqual(
      [`load-u-eeeeeeeeeeee-${DIM.name}-0-a0`, `load-u-eeeeeeeeeeee-${DIM.name}-0-r0-0-a0`, `load-u-eeeeeeeeeeee-${DIM.name}-0-r1-1-a0`, 'load-u-eeeeeeeeeeee-apply-a0'].sort(),
    );
    const apply = jobPosts().find((j) => j.configuration.query)!;
    // Only the good municipality's staging table feeds the INSERT; the failed slice is carried as a decision.
    expect(apply.configuration.query!.query).toContain(`stage_load_u_eeeeeeeeeeee_${DIM.name}_0_r0_0\``);
    expect(apply.configuration.query!.query).not.toContain(`stage_load_u_eeeeeeeeeeee_${DIM.name}_0_r1_1\``);
    expect(apply.configuration.query!.query).not.toContain(`stage_load_u_eeeeeeeeeeee_${DIM.name}_0\``);
    expect(sliceParams(apply.configuration.query!.queryParameters!).map((p) => `${p.municipality}:${p.status}`)).toEqual(['3550308:failed', '3304557:load']);
    expect(paramOf(apply, 'munis_0').parameterValue.arrayValues!.map((v) => v.value)).toEqual(['3304557']);
  });

  it("a value the column cannot hold fails its municipality's slice only (named where, no row content); maxBadRecords stays 0", async () => {
    const slices = [slice(FACT, '3550308', 4), slice(FACT, '3304557', 3), slice(FACT, '4106902', 2)];
    playBigQuery(rowsByUri(...slices));
    const play = fake.onJob;
    const badUri = slices[1]!.uris[0]!;
    const dataError = {
      error: { reason: 'invalid', message: 'Error while reading data, error message: CSV table encountered too many errors, giving up. Rows: 2; errors: 1.' },
      errors: [
        { reason: 'invalid', message: 'Error while reading data, error message: CSV table encountered too many errors, giving up. Rows: 2; errors: 1.' },
        {
          reason: 'invalid',
          location: badUri,
          message:
            "Error while reading data, error message: Could not parse 'NaN' as NUMERIC for field nu_pressao_sistolica (position 12) starting at location 431  with message 'Invalid NUMERIC value: NaN'",
        },
      ],
    };
    fake.onJob = (job) => (job.configuration.load?.sourceUris.includes(badUri) ? dataError : play(job));
    const outcomes = await warehouse().replaceSlices([{ table: FACT, slices }], 'load-v-eeeeeeeeeeee');
    expect(outcomes.map((o) => `${o.municipality}:${o.status}`)).toEqual(['3550308:loaded', '3304557:failed', '4106902:loaded']);
    const failed = outcomes[1] as Extract<SliceOutcome, { status: 'failed' }>;
    expect(failed).toMatchObject({ errorClass: 'data' });
    expect(failed.message).toBe(
      `${FACT.name}/3304557: column nu_pressao_sistolica (position 12) at byte 431 of ${badUri}: value not convertible to NUMERIC (row content withheld)`,
    );
    expect(failed.message).not.toContain('NaN');
    expect(
      jobPosts()
        .filter((j) => j.configuration.load)
        .every((j) => j.configuration.load!.maxBadRecords === 0),
    ).toBe(true);
    expect(
      jobPosts()
        .filter((j) => j.configuration.load)
        .map((j) => j.jobReference.jobId.replace(`load-v-eeeeeeeeeeee-${FACT.name}-`, ''))
        .sort(),
    ).toEqual(['0-a0', '0-r0-1-a0', '0-r2-2-a0', '0-r0-0-a0', '0-r1-1-a0'].sort());
  });

  it('finding the bad municipality costs about 2 × log2(N) load jobs, not N: one bad of 16 takes 9 jobs', async () => {
    const munis = [
      '3550308',
      '3304557',
      '4106902',
      '3509502',
      '4119905',
      '3548500',
      '5300108',
      '2927408',
      '2304400',
      '3106200',
      '1302603',
      '4314902',
      '2611606',
      '5208707',
      '1501402',
      '3518800',
    ];
    const slices = munis.map((m) => slice(DIM, m, 2));
    playBigQuery(rowsByUri(...slices));
    const play = fake.onJob;
    const badUri = slices[5]!.uris[0]!;
    fake.onJob = (job) =>
      job.configuration.load?.sourceUris.includes(badUri)
        ? {
            error: { reason: 'invalid', message: 'too many errors' },
            errors: [{ reason: 'invalid', location: badUri, message: "Could not parse 'x' as INT64 for field co_seq_dim_equipe (position 0) starting at location 40" }],
          }
        : play(job);
    const outcomes = await warehouse().replaceSlices([{ table: DIM, slices }], 'load-b-eeeeeeeeeeee');
    expect(outcomes.filter((o) => o.status === 'failed').map((o) => o.municipality)).toEqual([munis[5]]);
    expect(outcomes.filter((o) => o.status === 'loaded')).toHaveLength(15);
    expect(jobPosts().filter((j) => j.configuration.load)).toHaveLength(1 + 2 * 4);
  });

  it("a terminal job error that is not the data's (no file named) is thrown, with any quoted value withheld", async () => {
    fake.onJob = (job) =>
      job.configuration.load
        ? {
            error: {
              reason: 'invalid',
              message: "Error while reading data, error message: Could not parse 'Maria Souza' as INT64 for field co_seq_dim_equipe (position 0) starting at location 0",
            },
          }
        : { rows: [] };
    const err = (await warehouse()
      .replaceSlices([{ table: DIM, slices: [slice(DIM, '3550308', 4)] }], 'load-t-ffffffffffff')
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(TerminalError);
    expect(err.message).toContain('Could not parse (value withheld) as INT64');
    expect(JSON.stringify({ message: err.message, cause: String((err as { cause?: unknown }).cause) })).not.toContain('Maria');
  });

  it('waits for a running job, and gives up as transient when it outlasts the wait', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const play = fake.onJob;
    fake.onJob = (job) => ({ ...play(job), runningPolls: 3 });
    await expect(warehouse().replaceSlices(loads, 'load-w-ffffffffffff')).resolves.toHaveLength(1);

    fake.onJob = (job) => ({ ...play(job), runningPolls: 1_000 });
    const err = await warehouse({ jobWaitMs: 50 })
      .replaceSlices(loads, 'load-w-000000000000')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect(err).toMatchObject({ transient: true, errorClass: 'warehouse' });
  });

  it('polls a running job at initial, doubled, capped delays and gives up when the next wait would pass jobWaitMs', async () => {
    // A clock that moves 10 ms per reading makes the give-up point exact: poll i is followed by a
    // check of 10·i + delay_i against jobWaitMs (stage reads the clock once for the expiry, the
    // wait once for its deadline). Each case counts the polls of the staging job that never ends.
    const polls = async (pollMs: { initial: number; max: number } | undefined, jobWaitMs: number) => {
      fake.requests.length = 0;
      fake.jobs.clear();
      fake.tables.clear();
      fake.onJob = (job) => (job.configuration.load ? { runningPolls: 1_000 } : { rows: [] });
      let t = Date.parse('2026-11-22T09:00:00Z');
      const clock = { now: () => new Date((t += 10)) };
      const w = new BigQueryWarehouse(bq, { projectId: PROJECT, location: LOCATION, rawDataset: 'raw', opsDataset: 'ops', jobWaitMs, clock, ...(pollMs ? { pollMs } : {}) });
      const err = await w.replaceSlices([{ table: DIM, slices: [slice(DIM, '3550308', 4)] }], 'load-p-aaaaaaaaaaaa').catch((e: unknown) => e);
      expect(err).toMatchObject({ transient: true, errorClass: 'warehouse', message: expect.stringMatching(/still (RUNNING|PENDING) after \d+ ms/) });
      return fake.requests.filter((r) => r.method === 'GET' && r.path === `/bigquery/v2/projects/${PROJECT}/jobs/load-p-aaaaaaaaaaaa-${DIM.name}-0-a0`).length;
    };
    // Delays 5, 10, 20, 20, …: 10·i + delay passes 100 at the 9th poll (a cap ignored: 5 polls; a
    // delay halved instead of doubled: 10 polls).
    expect(await polls({ initial: 5, max: 20 }, 100)).toBe(9);
    // 15, 30 (≤ 35), 50: 3 polls; a delay at its maximum from the second poll on gives 2.
    expect(await polls({ initial: 5, max: 20 }, 35)).toBe(3);
    // The default first wait is 500 ms: 10 + 500 ≤ 600 < 20 + 1000 (2 polls), and 10 + 500 > 400 (1 poll).
    expect(await polls(undefined, 600)).toBe(2);
    expect(await polls(undefined, 400)).toBe(1);
  });

  it('a redelivery after its staging table is gone (dropped or expired) stages again under -a1 instead of reusing the finished job', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const play = fake.onJob;
    // The first delivery stages, then cannot read the ledger: no transaction, the staging table stays.
    fake.onJob = (job) => (isLedgerRead(job) ? { error: { reason: 'accessDenied', message: 'no' } } : play(job));
    await expect(warehouse().replaceSlices(loads, 'load-g-aaaaaaaaaaaa')).rejects.toThrow();
    const staging = [...fake.tables.keys()].filter((k) => k.startsWith('ops.stage_'));
    expect(staging).toHaveLength(1);
    fake.tables.delete(staging[0]!); // its expiry passed before the redelivery
    fake.onJob = play;
    fake.requests.length = 0;
    expect(await warehouse().replaceSlices(loads, 'load-g-aaaaaaaaaaaa')).toEqual([
      { municipality: '3550308', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 4 },
    ]);
    // -a0 answers "already exists" (DONE, 4 rows staged into a table that no longer holds them): not reused.
    expect(jobPosts().map((j) => j.jobReference.jobId)).toEqual([`load-g-aaaaaaaaaaaa-${DIM.name}-0-a0`, `load-g-aaaaaaaaaaaa-${DIM.name}-0-a1`, 'load-g-aaaaaaaaaaaa-apply-a0']);
  });

  it('a staging table that another delivery re-creates between the check and the create (409) counts as new: the earlier job is not reused', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const play = fake.onJob;
    fake.onJob = (job) => (isLedgerRead(job) ? { error: { reason: 'accessDenied', message: 'no' } } : play(job));
    await expect(warehouse().replaceSlices(loads, 'load-h-aaaaaaaaaaaa')).rejects.toThrow();
    for (const k of [...fake.tables.keys()].filter((k) => k.startsWith('ops.stage_'))) fake.tables.delete(k); // expired
    // A concurrent delivery creates it (empty) after this one found it missing: this one's create answers 409.
    fake.beforeAnswer = (r) => {
      const t = (r.json as { tableReference?: { datasetId: string; tableId: string } } | undefined)?.tableReference;
      if (r.method === 'POST' && t?.tableId.startsWith('stage_')) fake.tables.set(`${t.datasetId}.${t.tableId}`, { tableReference: t });
      return undefined;
    };
    fake.onJob = play;
    fake.requests.length = 0;
    expect(await warehouse().replaceSlices(loads, 'load-h-aaaaaaaaaaaa')).toEqual([
      { municipality: '3550308', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 4 },
    ]);
    expect(jobPosts().map((j) => j.jobReference.jobId)).toEqual([`load-h-aaaaaaaaaaaa-${DIM.name}-0-a0`, `load-h-aaaaaaaaaaaa-${DIM.name}-0-a1`, 'load-h-aaaaaaaaaaaa-apply-a0']);
  });

  it('a redelivery finds the committed transaction under its last attempt id (-a1 after a transient -a0)', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const play = fake.onJob;
    fake.onJob = (job) => (job.jobReference.jobId.endsWith('-apply-a0') ? { error: { reason: 'backendError', message: 'try again' } } : play(job));
    const first = await warehouse().replaceSlices(loads, 'load-f-aaaaaaaaaaaa');
    expect(first).toEqual([{ municipality: '3550308', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 4 }]);
    fake.requests.length = 0;
    expect(await warehouse().replaceSlices(loads, 'load-f-aaaaaaaaaaaa')).toEqual(first);
    expect(allJobPosts()).toEqual([]); // no job created, not even one answered "already exists"
  });

  it('nothing to load because every slice is stale or failed: no transaction, and the outcomes carry the newer extraction and the problem', async () => {
    const slices = [slice(DIM, '3550308', 4), slice(DIM, '3304557', 3)];
    const rows = rowsByUri(...slices);
    rows.set(slices[1]!.uris[0]!, 2);
    playBigQuery(rows, [{ table_name: DIM.name, municipality: '3550308', window_start: null, window_end: null, extracted_at: '2026-11-23T09:00:00.000000Z' }]);
    expect(await warehouse().replaceSlices([{ table: DIM, slices }], 'load-n-aaaaaaaaaaaa')).toEqual([
      { municipality: '3550308', table: DIM.name, status: 'stale', newerExtractedAt: '2026-11-23T09:00:00.000000Z' },
      {
        municipality: '3304557',
        table: DIM.name,
        status: 'failed',
        errorClass: 'data',
        message: expect.stringMatching(/^tb_dim_equipe\/3304557: the manifest declares 3 rows, load job .* staged 2$/),
      },
    ]);
    expect(jobPosts().some((j) => j.configuration.query)).toBe(false);
    expect([...fake.tables.keys()].filter((k) => k.startsWith('ops.stage_'))).toEqual([]); // staging dropped anyway
  });

  it('a slice whose files are bad but whose newer extraction is already loaded is stale, not failed', async () => {
    const s1 = slice(DIM, '3550308', 4);
    const rows = rowsByUri(s1);
    rows.set(s1.uris[0]!, 3); // staged 3 of the 4 rows its manifest declares
    playBigQuery(rows, [{ table_name: DIM.name, municipality: '3550308', window_start: null, window_end: null, extracted_at: '2026-11-23T09:00:00.000000Z' }]);
    expect(await warehouse().replaceSlices([{ table: DIM, slices: [s1] }], 'load-n-bbbbbbbbbbbb')).toEqual([
      { municipality: '3550308', table: DIM.name, status: 'stale', newerExtractedAt: '2026-11-23T09:00:00.000000Z' },
    ]);
  });

  it('a transaction result without a row for a requested slice is an internal error, not a silent gap', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4), slice(DIM, '3304557', 3)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const play = fake.onJob;
    fake.onJob = (job) => {
      const outcome = play(job);
      return job.configuration.query && !isLedgerRead(job) ? { ...outcome, rows: outcome.rows!.filter((r) => r.municipality !== '3304557') } : outcome;
    };
    const err = await warehouse()
      .replaceSlices(loads, 'load-m-aaaaaaaaaaaa')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err).toMatchObject({ errorClass: 'internal', message: `load result has no row for ${DIM.name}/3304557` });
  });

  it('every job carries the pipeline label and its run, step and table (the jobs explorer groups by them)', async () => {
    const s = { ...slice(DIM, '3550308', 4), runId: 'manual-20261122-2' };
    playBigQuery(rowsByUri(s));
    await warehouse().replaceSlices([{ table: DIM, slices: [s] }], 'load-l-aaaaaaaaaaaa');
    expect(jobPosts().map((j) => j.configuration.labels)).toEqual([
      { pipeline: 'pec', run: 'manual-20261122-2', step: 'stage', table: DIM.name },
      { pipeline: 'pec', run: 'manual-20261122-2', step: 'apply' },
    ]);
    expect(ledgerReads().map((j) => j.configuration.labels)).toEqual([{ pipeline: 'pec', step: 'ledger' }]);
  });

  it('a table created by another process between the check and the create (409) counts as created', async () => {
    fake.beforeAnswer = (r) => {
      const t = (r.json as { tableReference?: { datasetId: string; tableId: string } } | undefined)?.tableReference;
      if (r.method === 'POST' && t) fake.tables.set(`${t.datasetId}.${t.tableId}`, { tableReference: t });
      return undefined;
    };
    await expect(warehouse().ensureRawTables([DIM])).resolves.toBeUndefined();
    expect(fake.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual([
      `/bigquery/v2/projects/${PROJECT}/datasets/ops/tables`,
      `/bigquery/v2/projects/${PROJECT}/datasets/raw/tables`,
    ]);
  });

  it('the slice ledger table is checked once per warehouse; a failed check is named, and the next load checks again', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const ledgerTable = `/bigquery/v2/projects/${PROJECT}/datasets/ops/tables/loaded_slices`;
    let fail = true;
    fake.beforeAnswer = (r) => (r.method === 'GET' && r.path === ledgerTable && fail ? ((fail = false), { code: 500, reason: 'backendError', message: 'try again' }) : undefined);
    const w = warehouse();
    await expect(w.replaceSlices(loads, 'load-k-aaaaaaaaaaaa')).rejects.toMatchObject({
      transient: true,
      errorClass: 'warehouse',
      message: expect.stringContaining('creating ops.loaded_slices'),
    });
    await w.replaceSlices(loads, 'load-k-aaaaaaaaaaaa');
    await w.replaceSlices(loads, 'load-k-bbbbbbbbbbbb');
    expect(fake.requests.filter((r) => r.method === 'GET' && r.path === ledgerTable)).toHaveLength(2);
  });

  it('a failure while looking up, polling or reading a job names the job and keeps its class', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const failOn = (path: string) => (fake.beforeAnswer = (r) => (r.method === 'GET' && r.path === path ? { code: 500, reason: 'backendError', message: 'try again' } : undefined));
    const jobs = `/bigquery/v2/projects/${PROJECT}/jobs`;
    failOn(`${jobs}/load-j-aaaaaaaaaaaa-apply-a0`);
    await expect(warehouse().replaceSlices(loads, 'load-j-aaaaaaaaaaaa')).rejects.toMatchObject({
      transient: true,
      errorClass: 'warehouse',
      message: expect.stringContaining('looking up BigQuery job load-j-aaaaaaaaaaaa-apply-a0'),
    });
    fake.beforeAnswer = (r) =>
      r.method === 'POST' && r.path.endsWith('/jobs') && isLedgerRead(r.json as JobResource) ? { code: 500, reason: 'backendError', message: 'try again' } : undefined;
    await expect(warehouse().replaceSlices(loads, 'load-j-dddddddddddd')).rejects.toMatchObject({
      transient: true,
      errorClass: 'warehouse',
      message: expect.stringContaining('reading the slice ledger'),
    });
    failOn(`${jobs}/load-j-bbbbbbbbbbbb-${DIM.name}-0-a0`);
    await expect(warehouse().replaceSlices(loads, 'load-j-bbbbbbbbbbbb')).rejects.toMatchObject({
      transient: true,
      errorClass: 'warehouse',
      message: expect.stringContaining(`polling BigQuery job load-j-bbbbbbbbbbbb-${DIM.name}-0-a0`),
    });
    failOn(`/bigquery/v2/projects/${PROJECT}/queries/load-j-cccccccccccc-apply-a0`);
    await expect(warehouse().replaceSlices(loads, 'load-j-cccccccccccc')).rejects.toMatchObject({
      transient: true,
      errorClass: 'warehouse',
      message: expect.stringContaining('reading the results of BigQuery job load-j-cccccccccccc-apply-a0'),
    });
  });

  it('a chunk takes slices up to exactly maxUrisPerJob URIs; one slice beyond it alone is refused, naming it', async () => {
    const slices = ['3550308', '3304557'].map((m) => slice(FACT, m, 4, 2));
    playBigQuery(rowsByUri(...slices));
    await warehouse({ maxUrisPerJob: 4 }).replaceSlices([{ table: FACT, slices }], 'load-e-aaaaaaaaaaaa');
    expect(jobPosts().filter((j) => j.configuration.load)).toHaveLength(1);
    fake.requests.length = 0;
    const exact = slice(FACT, '4106902', 4, 4);
    playBigQuery(rowsByUri(exact));
    await expect(warehouse({ maxUrisPerJob: 4 }).replaceSlices([{ table: FACT, slices: [exact] }], 'load-e-cccccccccccc')).resolves.toHaveLength(1);
    const big = slice(FACT, '4106902', 5, 5);
    playBigQuery(rowsByUri(big));
    const err = await warehouse({ maxUrisPerJob: 4 })
      .replaceSlices([{ table: FACT, slices: [big] }], 'load-e-bbbbbbbbbbbb')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err).toMatchObject({ errorClass: 'warehouse', message: `${FACT.name}/4106902: 5 files exceed 4 URIs per load job` });
  });

  it('a slice without parts stages nothing (a load job needs a URI) but still goes into the transaction, expecting 0 rows', async () => {
    const empty = { ...slice(DIM, '3304557', 0), uris: [] };
    const full = slice(FACT, '3550308', 4);
    playBigQuery(rowsByUri(full));
    expect(
      await warehouse().replaceSlices(
        [
          { table: FACT, slices: [full] },
          { table: DIM, slices: [empty] },
        ],
        'load-z-aaaaaaaaaaaa',
      ),
    ).toEqual([
      { municipality: '3550308', table: FACT.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 4 },
      { municipality: '3304557', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 0 },
    ]);
    expect(
      jobPosts()
        .filter((j) => j.configuration.load)
        .map((j) => j.configuration.load!.sourceUris),
    ).toEqual([full.uris]);
    const apply = jobPosts().find((j) => j.configuration.query)!;
    expect(sliceParams(apply.configuration.query!.queryParameters!).map((p) => `${p.table_name}/${p.municipality}:${p.status}:${p.rows_expected}`)).toEqual([
      `${FACT.name}/3550308:load:4`,
      `${DIM.name}/3304557:load:0`,
    ]);
  });

  it('the transaction lists the staging tables in plan order whatever order their loads finished in', async () => {
    const slices = ['3550308', '3304557', '4106902'].map((m) => slice(FACT, m, 4, 2));
    playBigQuery(rowsByUri(...slices));
    const play = fake.onJob;
    // The first chunk's load runs longest: it finishes last.
    fake.onJob = (job) => ({ ...play(job), ...(job.jobReference.jobId.endsWith(`${FACT.name}-0-a0`) ? { runningPolls: 4 } : {}) });
    await warehouse({ maxUrisPerJob: 2 }).replaceSlices([{ table: FACT, slices }], 'load-o-aaaaaaaaaaaa');
    const sql = jobPosts().find((j) => j.configuration.query)!.configuration.query!.query;
    const at = [0, 1, 2].map((i) => sql.indexOf(`stage_load_o_aaaaaaaaaaaa_${FACT.name}_${i}\``));
    expect(at.every((x) => x >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('a job request that failed before BigQuery created the job (no job in the answer) is not retried under a new id', async () => {
    // An HTTP 500 on jobs.insert: the job may or may not exist; only the same id can tell (the redelivery's 409).
    fake.beforeAnswer = (r) =>
      r.method === 'POST' && r.path === `/bigquery/v2/projects/${PROJECT}/jobs` ? { code: 500, reason: 'backendError', message: 'try again' } : undefined;
    playBigQuery(new Map());
    const err = await warehouse()
      .replaceSlices([{ table: DIM, slices: [slice(DIM, '3550308', 4)] }], 'load-i-aaaaaaaaaaaa')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ transient: true, errorClass: 'warehouse', message: expect.stringContaining(`BigQuery job load-i-aaaaaaaaaaaa-${DIM.name}-0-a0`) });
    expect(jobPosts().map((j) => j.jobReference.jobId)).toEqual([`load-i-aaaaaaaaaaaa-${DIM.name}-0-a0`]);
  });

  it('loads run at most parallelLoads at a time, and no new one starts after one has failed', async () => {
    const slices = ['3550308', '3304557', '4106902'].map((m) => slice(FACT, m, 4, 2));
    /** The most load jobs running at once: created, and not yet answered DONE (the fake answers DONE at the second poll). */
    const mostAtOnce = () => {
      const polls = new Map<string, number>();
      let running = 0;
      let most = 0;
      for (const r of fake.requests) {
        const id = /\/jobs\/([^/]+)$/.exec(r.path)?.[1];
        if (r.method === 'POST' && (r.json as JobResource | undefined)?.configuration?.load) most = Math.max(most, ++running);
        if (r.method === 'GET' && id?.startsWith('load-q-') && !id.includes('apply') && polls.set(id, (polls.get(id) ?? 0) + 1).get(id) === 2) running--;
      }
      return most;
    };
    const play = () => {
      playBigQuery(rowsByUri(...slices));
      const inner = fake.onJob;
      fake.onJob = (job) => ({ ...inner(job), ...(job.configuration.load ? { runningPolls: 1 } : {}) });
    };
    play();
    await warehouse({ maxUrisPerJob: 2, parallelLoads: 1 }).replaceSlices([{ table: FACT, slices }], 'load-q-aaaaaaaaaaaa');
    expect(mostAtOnce()).toBe(1);
    fake.requests.length = 0;
    fake.jobs.clear();
    play();
    await warehouse({ maxUrisPerJob: 2, parallelLoads: 2 }).replaceSlices([{ table: FACT, slices }], 'load-q-bbbbbbbbbbbb');
    expect(mostAtOnce()).toBe(2);

    // One at a time, the first fails terminally (not on its data): the other two never start.
    fake.requests.length = 0;
    fake.onJob = (job) => (job.configuration.load ? { error: { reason: 'accessDenied', message: 'no access to the bucket' } } : { rows: [] });
    await expect(warehouse({ maxUrisPerJob: 2, parallelLoads: 1 }).replaceSlices([{ table: FACT, slices }], 'load-q-cccccccccccc')).rejects.toBeInstanceOf(TerminalError);
    expect(jobPosts().map((j) => j.jobReference.jobId)).toEqual([`load-q-cccccccccccc-${FACT.name}-0-a0`]);
  });

  it('the run label comes from the first slice of the request, even when the first table has none', async () => {
    const s1 = slice(FACT, '3550308', 4);
    playBigQuery(rowsByUri(s1));
    await warehouse().replaceSlices(
      [
        { table: DIM, slices: [] },
        { table: FACT, slices: [s1] },
      ],
      'load-0-aaaaaaaaaaaa',
    );
    expect(jobPosts().map((j) => j.configuration.labels?.run)).toEqual(['daily-20261122', 'daily-20261122']);
  });

  it('splits a table beyond the URI limit into deterministic jobs, never splitting a slice', async () => {
    const slices = ['3550308', '3304557', '4106902', '3509502'].map((m) => slice(FACT, m, 4, 2));
    playBigQuery(rowsByUri(...slices));
    await warehouse({ maxUrisPerJob: 5 }).replaceSlices([{ table: FACT, slices }], 'load-s-111111111111');
    const loadsSent = jobPosts().filter((j) => j.configuration.load);
    expect(loadsSent.map((j) => j.jobReference.jobId)).toEqual([`load-s-111111111111-${FACT.name}-0-a0`, `load-s-111111111111-${FACT.name}-1-a0`]);
    expect(loadsSent.map((j) => j.configuration.load!.sourceUris.map((u) => u.split('/')[7]))).toEqual([
      ['3304557', '3304557', '3509502', '3509502'],
      ['3550308', '3550308', '4106902', '4106902'],
    ]);
    const apply = jobPosts().find((j) => j.configuration.query)!.configuration.query!.query;
    expect(apply).toContain(`stage_load_s_111111111111_${FACT.name}_0\``);
    expect(apply).toContain(`stage_load_s_111111111111_${FACT.name}_1\``);
  });

  it('a job that fails while running: a transient failure moves on to the next id, a terminal one is thrown naming the job and its error', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const play = fake.onJob;
    const applyIds = (loadId: string) =>
      jobPosts()
        .filter((j) => j.jobReference.jobId.startsWith(`${loadId}-apply`))
        .map((j) => j.jobReference.jobId);
    fake.onJob = (job) => (job.jobReference.jobId.endsWith('-apply-a0') ? { runningPolls: 1, error: { reason: 'backendError', message: 'try again' } } : play(job));
    expect(await warehouse().replaceSlices(loads, 'load-w-aaaaaaaaaaaa')).toEqual([
      { municipality: '3550308', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 4 },
    ]);
    expect(applyIds('load-w-aaaaaaaaaaaa')).toEqual(['load-w-aaaaaaaaaaaa-apply-a0', 'load-w-aaaaaaaaaaaa-apply-a1']);

    fake.onJob = (job) =>
      job.jobReference.jobId.endsWith('-apply-a0') ? { runningPolls: 1, error: { reason: 'invalidQuery', message: 'Syntax error: Unexpected end of script' } } : play(job);
    const err = await warehouse()
      .replaceSlices(loads, 'load-w-bbbbbbbbbbbb')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err).toMatchObject({
      errorClass: 'warehouse',
      message: 'BigQuery job load-w-bbbbbbbbbbbb-apply-a0 failed (reason invalidQuery): Syntax error: Unexpected end of script',
    });
    expect(applyIds('load-w-bbbbbbbbbbbb')).toEqual(['load-w-bbbbbbbbbbbb-apply-a0']);
  });

  it('every attempt failed: transient, naming the job and the last failure; a redelivery looks up exactly those attempt ids', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const play = fake.onJob;
    fake.onJob = (job) => (job.jobReference.jobId.includes('-apply-') ? { runningPolls: 1, error: { reason: 'backendError', message: 'backend busy' } } : play(job));
    const attempt = () =>
      warehouse({ maxJobAttempts: 2 })
        .replaceSlices(loads, 'load-v-aaaaaaaaaaaa')
        .then(
          (): never => {
            throw new Error('expected the load to fail');
          },
          (e: unknown) => e as PipelineError,
        );
    const err = await attempt();
    expect(err).toMatchObject({ transient: true, errorClass: 'warehouse' });
    const last = 'BigQuery job load-v-aaaaaaaaaaaa-apply-a1 failed (reason backendError): backend busy';
    expect(err.message).toBe(`BigQuery job load-v-aaaaaaaaaaaa-apply failed in 2 attempts: ${last}`);
    expect(err.cause).toMatchObject({ transient: true, errorClass: 'warehouse', message: last });
    expect(
      jobPosts()
        .filter((j) => j.configuration.query)
        .map((j) => j.jobReference.jobId),
    ).toEqual(['load-v-aaaaaaaaaaaa-apply-a0', 'load-v-aaaaaaaaaaaa-apply-a1']);
    // The redelivery: both attempts found failed (409 on re-creating them), nothing beyond -a1 asked for.
    fake.requests.length = 0;
    expect((await attempt()).message).toBe(`BigQuery job load-v-aaaaaaaaaaaa-apply failed in 2 attempts: ${last}`);
    const looked = fake.requests.filter((r) => r.method === 'GET' && /\/jobs\/load-v-aaaaaaaaaaaa-apply-a\d+$/.test(r.path)).map((r) => r.path.split('/').pop());
    expect([...new Set(looked)]).toEqual(['load-v-aaaaaaaaaaaa-apply-a0', 'load-v-aaaaaaaaaaaa-apply-a1']);
  });

  it('a job found from an earlier delivery that cannot be reused, in every attempt: transient, saying no attempt was reusable', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const play = fake.onJob;
    fake.onJob = (job) => (isLedgerRead(job) ? { error: { reason: 'accessDenied', message: 'no' } } : play(job));
    await expect(warehouse({ maxJobAttempts: 1 }).replaceSlices(loads, 'load-u-aaaaaaaaaaaa')).rejects.toThrow();
    for (const k of [...fake.tables.keys()].filter((k) => k.startsWith('ops.stage_'))) fake.tables.delete(k);
    fake.onJob = play;
    await expect(warehouse({ maxJobAttempts: 1 }).replaceSlices(loads, 'load-u-aaaaaaaaaaaa')).rejects.toMatchObject({
      transient: true,
      message: `BigQuery job load-u-aaaaaaaaaaaa-${DIM.name}-0 failed in 1 attempts: no attempt reusable`,
    });
  });

  it('a ledger conflict in every attempt (at once or while running) ends transient, saying the ledger changed', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const play = fake.onJob;
    const conflict = { error: { reason: 'invalidQuery', message: `${LEDGER_CONFLICT} at [3:1]` } };
    const changed = 'the slice ledger changed during the load (a concurrent load): deciding again';
    // -a1 conflicts while running (after a poll), then at once (the insert's answer carries the error).
    for (const [loadId, lastRunning] of [
      ['load-q-aaaaaaaaaaaa', true],
      ['load-q-bbbbbbbbbbbb', false],
    ] as const) {
      fake.onJob = (job) =>
        job.jobReference.jobId.endsWith('-apply-a1')
          ? { ...conflict, runningPolls: lastRunning ? 1 : 0 }
          : job.jobReference.jobId.endsWith('-apply-a0')
            ? { ...conflict, runningPolls: lastRunning ? 0 : 1 }
            : play(job);
      await expect(warehouse({ maxJobAttempts: 2 }).replaceSlices(loads, loadId)).rejects.toMatchObject({
        transient: true,
        message: `BigQuery job ${loadId}-apply failed in 2 attempts: BigQuery job ${loadId}-apply-a1: ${changed}`,
        cause: { transient: true, errorClass: 'warehouse' },
      });
    }
  });

  it("a ledger conflict is recognised in any of the job's errors, not only its errorResult", async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const play = fake.onJob;
    fake.onJob = (job) =>
      job.jobReference.jobId.endsWith('-apply-a0')
        ? {
            runningPolls: 1,
            error: { reason: 'invalidQuery', message: 'Query error in script' },
            errors: [
              { reason: 'invalidQuery', message: 'Query error in script' },
              { reason: 'invalidQuery', message: `${LEDGER_CONFLICT} at [3:1]` },
            ],
          }
        : play(job);
    expect(await warehouse().replaceSlices(loads, 'load-p-aaaaaaaaaaaa')).toEqual([
      { municipality: '3550308', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 4 },
    ]);
    expect(ledgerReads()).toHaveLength(2);
  });

  it("jobs are looked up in the warehouse's location, also with a client that has no default location", async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const play = fake.onJob;
    fake.onJob = (job) => (job.jobReference.jobId.endsWith('-apply-a0') ? { error: { reason: 'backendError', message: 'try again' } } : play(job));
    await expect(warehouse({ maxJobAttempts: 1 }).replaceSlices(loads, 'load-l-aaaaaaaaaaaa')).rejects.toMatchObject({ transient: true });
    fake.onJob = play;
    fake.requests.length = 0;
    const bare = new BigQuery({ projectId: PROJECT, apiEndpoint: fake.url, authClient: staticAuth as never, autoRetry: false });
    const w = new BigQueryWarehouse(bare, { projectId: PROJECT, location: LOCATION, rawDataset: 'raw', opsDataset: 'ops', pollMs: { initial: 5, max: 10 }, jobWaitMs: 3_000 });
    // The redelivery looks up the failed -a0 (findFinished), finds the staging job and -a0 by 409 and polls them, then runs -a1.
    expect(await w.replaceSlices(loads, 'load-l-aaaaaaaaaaaa')).toEqual([{ municipality: '3550308', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 4 }]);
    const gets = fake.requests.filter((r) => r.method === 'GET' && /\/jobs\/load-l-/.test(r.path));
    expect(gets.map((r) => r.path.split('/').pop())).toEqual(expect.arrayContaining(['load-l-aaaaaaaaaaaa-apply-a0', `load-l-aaaaaaaaaaaa-${DIM.name}-0-a0`]));
    for (const r of gets) expect([r.path, r.query.location]).toEqual([r.path, LOCATION]);
  });

  it('a job request that failed on the network (no response at all) is transient and names the job', async () => {
    const loads = [{ table: DIM, slices: [slice(DIM, '3550308', 4)] }];
    playBigQuery(rowsByUri(...loads[0]!.slices));
    const client = new BigQuery({ projectId: PROJECT, location: LOCATION, apiEndpoint: fake.url, authClient: staticAuth as never, autoRetry: false });
    client.createJob = (async () => {
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    }) as never;
    const w = new BigQueryWarehouse(client, { projectId: PROJECT, location: LOCATION, rawDataset: 'raw', opsDataset: 'ops', pollMs: { initial: 5, max: 10 }, jobWaitMs: 3_000 });
    await expect(w.replaceSlices(loads, 'load-n-aaaaaaaaaaaa')).rejects.toMatchObject({
      transient: true,
      message: `BigQuery job load-n-aaaaaaaaaaaa-${DIM.name}-0-a0 failed (ECONNRESET): socket hang up`,
    });
  });

  it('a transaction result and a ledger read that BigQuery answers in several pages are read whole', async () => {
    const slices = ['3550308', '3304557', '2304400'].map((m) => slice(DIM, m, 4));
    const loads = [{ table: DIM, slices }];
    playBigQuery(rowsByUri(...slices), [
      { table_name: DIM.name, municipality: '3550308', window_start: null, window_end: null, extracted_at: '2026-11-21T09:00:00.000000Z' },
      { table_name: DIM.name, municipality: '2304400', window_start: null, window_end: null, extracted_at: '2026-11-23T09:00:00.000000Z' },
    ]);
    const play = fake.onJob;
    fake.onJob = (job) => ({ ...play(job), pageSize: 1 });
    expect(await warehouse().replaceSlices(loads, 'load-k-aaaaaaaaaaaa')).toEqual([
      { municipality: '3550308', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 4 },
      { municipality: '3304557', table: DIM.name, status: 'loaded', rowsDeleted: 7, rowsInserted: 4 },
      // Known only from the ledger's second page: a newer extraction already loaded.
      { municipality: '2304400', table: DIM.name, status: 'stale', newerExtractedAt: '2026-11-23T09:00:00.000000Z' },
    ]);
    const pages = fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/queries/load-k-aaaaaaaaaaaa-apply-a0'));
    expect(pages.map((r) => r.query.pageToken)).toEqual([undefined, '1', '2']);
  });

  it("a load job that fails on its data while running (found by polling) still fails only that municipality's slice", async () => {
    const s1 = slice(DIM, '3550308', 4);
    playBigQuery(rowsByUri(s1));
    const play = fake.onJob;
    const bad = { reason: 'invalid', message: 'Error while reading data, error message: Could not parse the value' };
    fake.onJob = (job) => (job.configuration.load ? { runningPolls: 1, error: bad, errors: [bad, { ...bad, location: s1.uris[0]! }] } : play(job));
    const [outcome] = await warehouse().replaceSlices([{ table: DIM, slices: [s1] }], 'load-d-aaaaaaaaaaaa');
    expect(outcome).toMatchObject({ municipality: '3550308', table: DIM.name, status: 'failed', errorClass: 'data' });
    expect(jobPosts().some((j) => j.configuration.query)).toBe(false);
  });

  it("only an invalid-data error pointing at one of the chunk's files fails the slice; a permission error on a file, or a location elsewhere, is thrown", async () => {
    const s1 = slice(DIM, '3550308', 4);
    const file = s1.uris[0]!;
    const summary = { reason: 'invalid', message: 'Error while reading data, error message: CSV table encountered too many errors' };
    const cases = [
      { name: 'data', error: summary, errors: [summary, { reason: 'invalid', location: file, message: 'Could not parse the value' }], fails: true },
      {
        name: 'denied',
        error: { reason: 'accessDenied', message: `Access Denied: File ${file}` },
        errors: [{ reason: 'accessDenied', location: file, message: `Access Denied: File ${file}` }],
        fails: false,
      },
      {
        name: 'elsewhere',
        error: summary,
        errors: [summary, { reason: 'invalid', location: 'gs://another-bucket/part-00000.csv.gz', message: 'Could not parse the value' }],
        fails: false,
      },
    ];
    // At once (the insert's answer) and found by polling: the two paths build the error differently.
    for (const runningPolls of [0, 1])
      for (const c of cases) {
        fake.requests.length = 0;
        playBigQuery(rowsByUri(s1));
        const play = fake.onJob;
        fake.onJob = (job) => (job.configuration.load ? { runningPolls, error: c.error, errors: c.errors } : play(job));
        const loadId = `load-${c.name}-${runningPolls}`;
        const result = await warehouse()
          .replaceSlices([{ table: DIM, slices: [s1] }], loadId)
          .catch((e: unknown) => e);
        if (c.fails) expect(result).toEqual([expect.objectContaining({ municipality: '3550308', status: 'failed', errorClass: 'data' })]);
        else {
          expect(result).toBeInstanceOf(TerminalError);
          expect(result).toMatchObject({ errorClass: 'warehouse', message: expect.stringContaining(`BigQuery job ${loadId}-${DIM.name}-0-a0`) });
        }
        expect(jobPosts().some((j) => j.configuration.query)).toBe(false);
      }
  });
});
