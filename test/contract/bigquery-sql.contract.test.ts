import { Parser } from 'node-sql-parser';
import { applySlicesScript, ident, ledgerReadQuery, sliceParams, tableRef, timestampParam, type ApplyTable, type Step } from '../../shared/adapters/gcp/bigquery-sql';
import { TableDef } from '../../shared/contracts/tables';
import type { SliceLoad } from '../../shared/ports';
import { INDICATORS, evaluatedWith } from '../../shared/marts/indicators';
import { getTable } from '../../shared/tables/pec-tables';

/**
 * Contract: the load transaction the project sends to BigQuery is valid GoogleSQL and has the
 * shape the quota arithmetic relies on. Each statement is parsed with node-sql-parser's BigQuery
 * dialect. That parser does not know BigQuery scripting (BEGIN TRANSACTION, COMMIT TRANSACTION,
 * ASSERT, IF … THEN / END IF): those statements are matched exactly instead, and the boolean
 * expressions inside ASSERT and IF are parsed as `SELECT <expression>`. It also mis-parses
 * `DELETE FROM t AS r` (it takes FROM for the table name), so the script uses the equally valid
 * `DELETE t r` form. Parsing proves syntax and table usage, not BigQuery's semantics.
 */
const parser = new Parser();
const OPT = { database: 'bigquery' } as const;
const P = 'test-project';

const FACT = getTable('tb_fat_atendimento_individual');
const DIM = getTable('tb_dim_equipe');
// A table windowed by a DATE column (none in the PEC registry today; the loader supports it).
const BY_DATE = TableDef.parse({
  name: 'tb_eventos',
  description: 'events keyed by a date column',
  primaryKey: ['co_seq'],
  municipality: { kind: 'column', column: 'co_dim_municipio' },
  mode: { kind: 'window', column: 'dt_evento', keyFormat: 'date' },
  columns: [
    { name: 'co_seq', type: 'bigint' },
    { name: 'co_dim_municipio', type: 'bigint' },
    { name: 'dt_evento', type: 'date' },
  ],
});

const cols = (names: [string, SliceLoad['columns'][number]['type']][]) => names.map(([name, type]) => ({ name, type }));
const ING = cols([
  ['_municipality_ibge', 'text'],
  ['_run_id', 'text'],
  ['_extracted_at', 'timestamp'],
]);

function slice(municipality: string, window: SliceLoad['window'], extractedAt = '2026-11-22T09:00:00.123456Z'): SliceLoad {
  return { municipality, runId: 'daily-20261122', extractedAt, window, columns: [], uris: [], rows: 10 };
}
const W = { start: '2026-10-18', end: '2026-11-23' };
const load = (s: SliceLoad) => ({ slice: s, decision: { status: 'load' as const } });
const stage = (name: string, columns: SliceLoad['columns']) => ({ ref: tableRef(P, 'ops', name), columns });

const loads: ApplyTable[] = [
  {
    table: FACT,
    rawRef: tableRef(P, 'raw', FACT.name),
    slices: [
      load(slice('3550308', W)),
      load(slice('3304557', { start: '2026-09-01', end: '2026-10-01' })),
      { slice: slice('4106902', W), decision: { status: 'stale', newerExtractedAt: '2026-11-23T09:00:00.000000Z' } },
    ],
    staging: [
      stage('stage_l_fact_0', [
        ...cols([
          ['co_seq_fat_atd_ind', 'bigint'],
          ['co_dim_tempo', 'bigint'],
          ['nu_peso', 'double'],
        ]),
        ...ING,
      ]),
      // A second staging table whose files lack a column (registry changed mid-run): NULL-filled.
      stage('stage_l_fact_1', [
        ...cols([
          ['co_seq_fat_atd_ind', 'bigint'],
          ['co_dim_tempo', 'bigint'],
        ]),
        ...ING,
      ]),
    ],
  },
  {
    table: DIM,
    rawRef: tableRef(P, 'raw', DIM.name),
    slices: [load(slice('3550308', null))],
    staging: [stage('stage_l_dim_0', [...cols([['co_seq_dim_equipe', 'bigint']]), ...ING])],
  },
  {
    table: BY_DATE,
    rawRef: tableRef(P, 'raw', BY_DATE.name),
    slices: [load(slice('3550308', W))],
    staging: [
      stage('stage_l_ev_0', [
        ...cols([
          ['co_seq', 'bigint'],
          ['dt_evento', 'date'],
        ]),
        ...ING,
      ]),
    ],
  },
];
const ledger = tableRef(P, 'ops', 'loaded_slices');
const GUARD = { ledgerRowsRead: 2, since: '2026-11-22T09:00:00.123456Z' };
const script = applySlicesScript(loads, 'load-daily-20261122-0123456789ab', ledger, GUARD);

/** Tables a statement reads and writes, per node-sql-parser: "select::null::p.raw.t". */
function tablesOf(step: Step): string[] {
  return parser.tableList(step.sql, OPT);
}

describe('the BigQuery load transaction (contract: GoogleSQL, parsed)', () => {
  it('every statement parses: DML and queries with the BigQuery dialect, scripting statements exactly', () => {
    for (const step of script.steps) {
      switch (step.kind) {
        case 'begin':
          expect(step.sql).toBe('BEGIN TRANSACTION');
          break;
        case 'commit':
          expect(step.sql).toBe('COMMIT TRANSACTION');
          break;
        case 'assert': {
          const m = /^ASSERT (.+) AS '[^']+'$/s.exec(step.sql);
          expect(m).not.toBeNull();
          expect(() => parser.astify(`SELECT ${m![1]}`, OPT)).not.toThrow();
          break;
        }
        default: {
          const ast = parser.astify(step.sql, OPT);
          const one = Array.isArray(ast) ? ast : [ast];
          expect(one).toHaveLength(1);
          expect(one[0]!.type).toBe({ create_temp: 'create', delete: 'delete', insert: 'insert', select: 'select' }[step.kind]);
        }
      }
    }
  });

  it('one transaction; per raw table exactly one DELETE and one INSERT; one ledger INSERT per load; the optimistic guard first', () => {
    const kinds = script.steps.map((s) => s.kind);
    expect(kinds.slice(0, 2)).toEqual(['begin', 'assert']);
    expect(script.steps[1]!.sql).toMatch(
      /^ASSERT \(SELECT COUNT\(\*\) FROM `test-project\.ops\.loaded_slices` AS l WHERE l\.extracted_at >= @since AND .* IN UNNEST\(@pairs\)\) = @ledger_rows_read AS /,
    );
    // The guard re-counts exactly the rows the adapter read (one definition of the scope).
    expect(ledgerReadQuery(ledger)).toContain(script.steps[1]!.sql.slice('ASSERT (SELECT COUNT(*) '.length, script.steps[1]!.sql.indexOf(') = @ledger_rows_read')));
    expect(kinds.filter((k) => k === 'begin')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'commit')).toHaveLength(1);
    expect(kinds.at(-1)).toBe('select'); // the result rows come after the commit
    for (const { table } of loads) {
      const raw = `${P}.raw.${table.name}`;
      const writes = script.steps.filter((s) => (s.kind === 'delete' || s.kind === 'insert') && tablesOf(s).some((t) => t.endsWith(`::${raw}`) && !t.startsWith('select')));
      expect(writes.map((s) => s.kind)).toEqual(['delete', 'insert']);
    }
    const ledgerWrites = script.steps.filter((s) => s.kind === 'insert' && tablesOf(s).includes(`insert::null::${P}.ops.loaded_slices`));
    expect(ledgerWrites).toHaveLength(1);
    // Nothing but temp tables, raw tables and the ledger is written.
    const parsable = script.steps.filter((s) => ['create_temp', 'delete', 'insert', 'select'].includes(s.kind));
    const written = parsable.flatMap(tablesOf).filter((t) => /^(insert|delete|update)::/.test(t));
    expect(new Set(written)).toEqual(
      new Set([
        ...loads.map((l) => `delete::null::${P}.raw.${l.table.name}`),
        ...loads.map((l) => `insert::null::${P}.raw.${l.table.name}`),
        `insert::null::${P}.ops.loaded_slices`,
      ]),
    );
  });

  it('a table with nothing to load gets no statement at all (table modification quota)', () => {
    const none = applySlicesScript([loads[0]!, { ...loads[1]!, slices: [{ slice: slice('3550308', null), decision: { status: 'already_loaded' } }] }], 'load-x', ledger, GUARD);
    expect(none.steps.filter((s) => s.kind === 'delete' || (s.kind === 'insert' && s.sql.includes('.raw.'))).map((s) => s.sql.match(/raw\.(\w+)/)![1])).toEqual([
      FACT.name,
      FACT.name,
    ]);
  });

  it('deletes filter on parameters BigQuery can prune on (municipalities, window bounds), then the exact per-slice condition with the window end exclusive', () => {
    const del = (name: string) => script.steps.find((s) => s.kind === 'delete' && s.sql.startsWith(`DELETE \`${P}.raw.${name}\``))!.sql;
    expect(del(FACT.name)).toContain('r._municipality_ibge IN UNNEST(@munis_0) AND r.co_dim_tempo >= @lo_0 AND r.co_dim_tempo < @hi_0');
    expect(del(FACT.name)).toContain(
      "FROM UNNEST(@slices) WHERE table_name = 'tb_fat_atendimento_individual' AND status = 'load') AS d WHERE d.municipality = r._municipality_ibge AND (d.window_start_key IS NULL OR (r.co_dim_tempo >= d.window_start_key AND r.co_dim_tempo < d.window_end_key))",
    );
    expect(del(BY_DATE.name)).toContain('r.dt_evento >= @lo_2 AND r.dt_evento < @hi_2');
    // A table keyed by a DATE compares its column with the slice's dates, not with the yyyymmdd keys.
    expect(del(BY_DATE.name)).toContain('(d.window_start IS NULL OR (r.dt_evento >= d.window_start AND r.dt_evento < d.window_end))');
    // A full refresh replaces the municipality's whole table.
    expect(del(DIM.name)).toMatch(/r\._municipality_ibge IN UNNEST\(@munis_1\) AND EXISTS \(.* AND TRUE\)$/);
    const param = (n: string) => script.params.find((p) => p.name === n)!;
    // Only the slices to load: the stale one is not deleted.
    expect(param('munis_0').parameterValue.arrayValues!.map((v) => v.value)).toEqual(['3304557', '3550308']);
    expect([param('lo_0'), param('hi_0')].map((p) => [p.parameterType.type, p.parameterValue.value])).toEqual([
      ['INT64', '20260901'],
      ['INT64', '20261123'],
    ]);
    expect([param('lo_2'), param('hi_2')].map((p) => [p.parameterType.type, p.parameterValue.value])).toEqual([
      ['DATE', '2026-10-18'],
      ['DATE', '2026-11-23'],
    ]);
  });

  it('inserts staged rows by column name, NULL-filling a column a staging table lacks, only for the municipalities to load', () => {
    const ins = script.steps.find((s) => s.kind === 'insert' && s.sql.startsWith(`INSERT INTO \`${P}.raw.${FACT.name}\``))!;
    const ast = parser.astify(ins.sql, OPT) as unknown as { columns: string[] };
    expect(ast.columns).toEqual(['co_seq_fat_atd_ind', 'co_dim_tempo', 'nu_peso', '_municipality_ibge', '_run_id', '_extracted_at']);
    expect(ins.sql).toContain('CAST(NULL AS FLOAT64) AS nu_peso');
    // …and only there: the staging table that has the column selects it.
    expect(ins.sql).toContain('SELECT co_seq_fat_atd_ind, co_dim_tempo, nu_peso, _municipality_ibge, _run_id, _extracted_at FROM `test-project.ops.stage_l_fact_0`');
    expect(ins.sql).toMatch(/WHERE s\._municipality_ibge IN UNNEST\(@munis_0\)$/);
    expect(tablesOf(ins)).toEqual(expect.arrayContaining([`select::null::${P}.ops.stage_l_fact_0`, `select::null::${P}.ops.stage_l_fact_1`]));
  });

  it('every value is a parameter (microseconds kept); the text refuses unchecked identifiers and values', () => {
    expect(timestampParam('2026-11-22T09:00:00.123456Z')).toBe('2026-11-22 09:00:00.123456+00:00');
    const rows = sliceParams(script.params);
    expect(rows.map((r) => [r.table_name, r.municipality, r.status, r.extracted_at, r.newer_extracted_at])).toEqual([
      [FACT.name, '3550308', 'load', '2026-11-22 09:00:00.123456+00:00', null],
      [FACT.name, '3304557', 'load', '2026-11-22 09:00:00.123456+00:00', null],
      [FACT.name, '4106902', 'stale', '2026-11-22 09:00:00.123456+00:00', '2026-11-23T09:00:00.000000Z'],
      [DIM.name, '3550308', 'load', '2026-11-22 09:00:00.123456+00:00', null],
      [BY_DATE.name, '3550308', 'load', '2026-11-22 09:00:00.123456+00:00', null],
    ]);
    for (const v of ['3550308', '2026-10-18', '20261018', '09:00:00']) expect(script.sql).not.toContain(v);
    expect(script.params.find((p) => p.name === 'ledger_rows_read')!.parameterValue.value).toBe('2');
    const evil = { ...loads[1]!, slices: [load({ ...slice('3550308', null), municipality: "3550308') OR TRUE --" })] };
    expect(() => applySlicesScript([evil], 'load-x', ledger, GUARD)).toThrow(/refusing/);
    expect(() => applySlicesScript([loads[1]!], "load'; DROP TABLE x", ledger, GUARD)).toThrow(/refusing/);
    expect(() => applySlicesScript([{ ...loads[1]!, slices: [load(slice('3550308', null, '2026-11-22 09:00'))] }], 'load-x', ledger, GUARD)).toThrow(/refusing/);
  });
});

describe('the indicator evaluations sent to BigQuery (contract: GoogleSQL, parsed)', () => {
  // Each indicator's WITH clause in the BigQuery dialect, as the fact's refresh embeds it. Comments are dropped as
  // compactSql drops them. Parsing proves the syntax both engines must share; DuckDB runs the same text in the tests.
  it.each(INDICATORS.map((i) => [i.id, i] as const))('%s parses as GoogleSQL', (_id, i) => {
    const sql = `${evaluatedWith('bigquery', [i])} SELECT * FROM evaluated`.replace(/--[^\n]*/g, '');
    expect(() => parser.astify(sql, OPT)).not.toThrow();
  });
});

describe('the load transaction at its edges (what may reach the statement text, and the degenerate loads)', () => {
  const dimLoad = (s: SliceLoad, decision: ApplyTable['slices'][number]['decision'] = { status: 'load' }): ApplyTable => ({ ...loads[1]!, slices: [{ slice: s, decision }] });

  it('identifiers: registry names only (a lower-case letter or _ first, at most 63 characters)', () => {
    for (const name of ['a', '_x', 'tb_dim_equipe', `a${'b'.repeat(62)}`]) expect(ident(name)).toBe(name);
    for (const name of ['', 'A', 'Tb', '1a', 'a-b', 'a b', 'a;', 'a`', `a${'b'.repeat(63)}`, 'a\n'])
      expect(() => ident(name)).toThrow(`refusing a non-registry identifier: ${JSON.stringify(name)}`);
  });

  it('table references: a project id (6–30 characters, a letter first, no trailing "-"), a dataset and a table, backquoted', () => {
    expect(tableRef('abcdef', 'raw', 'tb_x')).toBe('`abcdef.raw.tb_x`');
    expect(tableRef(`a${'b'.repeat(28)}c`, 'Raw_1', 'T_2')).toBe(`\`a${'b'.repeat(28)}c.Raw_1.T_2\``);
    for (const [p, d, t] of [
      ['abcde', 'raw', 'tb_x'],
      [`a${'b'.repeat(29)}c`, 'raw', 'tb_x'],
      ['1bcdef', 'raw', 'tb_x'],
      ['abcde-', 'raw', 'tb_x'],
      ['Abcdef', 'raw', 'tb_x'],
      ['abcdef', 'ra-w', 'tb_x'],
      ['abcdef', 'raw', 'tb`x'],
      ['abcdef', '', 'tb_x'],
      ['abcdef', 'raw', ''],
      ['abcdef', 'raw', 'tb_x.y'],
      ['abcdef', 'raw', 'tb_x` WHERE TRUE --'],
      ['x.abcdef', 'raw', 'tb_x'],
    ])
      expect(() => tableRef(p!, d!, t!)).toThrow(`refusing a table reference: ${JSON.stringify(`${p}.${d}.${t}`)}`);
  });

  it('timestamps: an ISO instant with up to microseconds and a zone, as a TIMESTAMP parameter value', () => {
    expect(timestampParam('2026-11-22T09:00:00Z')).toBe('2026-11-22 09:00:00+00:00');
    expect(timestampParam('2026-11-22T09:00:00.1-03:00')).toBe('2026-11-22 09:00:00.1-03:00');
    expect(timestampParam('2026-11-22T09:00:00.123456+05:30')).toBe('2026-11-22 09:00:00.123456+05:30');
    for (const v of [
      '2026-11-22T09:00:00.1234567Z',
      '2026-11-22T09:00Z',
      '2026-11-22T09:00:00',
      '2026-11-22 09:00:00Z',
      'x2026-11-22T09:00:00Z',
      '2026-11-22T09:00:00Zx',
      '2026-11-22T09:00:00.Z',
      '2026-11-22T09:00:00+0300',
      '26-11-22T09:00:00Z',
    ])
      expect(() => timestampParam(v)).toThrow(`refusing a non-timestamp value: ${JSON.stringify(v)}`);
  });

  it('values checked before they can reach the text: load id, municipality, run id, window dates', () => {
    const ok = (l: ApplyTable, loadId = 'load-x') => expect(() => applySlicesScript([l], loadId, ledger, GUARD)).not.toThrow();
    const bad = (l: ApplyTable, loadId = 'load-x') => expect(() => applySlicesScript([l], loadId, ledger, GUARD)).toThrow(/^refusing an unchecked SQL string literal: /);
    const dim = (s: Partial<SliceLoad>) => dimLoad({ ...slice('3550308', null), ...s });
    ok(dim({}), 'a');
    ok(dim({}), `a${'b'.repeat(119)}`);
    for (const loadId of ['', '-load', 'Load-x', 'load_x', `a${'b'.repeat(120)}`, 'load-x\n']) bad(dim({}), loadId);
    for (const municipality of ['355030', '35503080', 'x550308', '3550308\n']) bad(dim({ municipality }));
    ok(dim({ runId: 'abc' }));
    ok(dim({ runId: `a${'b'.repeat(62)}` }));
    for (const runId of ['ab', '-abc', 'Daily-1', 'daily_1', `a${'b'.repeat(63)}`]) bad(dim({ runId }));
    const windowed = (window: SliceLoad['window']): ApplyTable => ({ ...loads[0]!, slices: [load(slice('3550308', window))] });
    ok(windowed(W));
    bad(windowed({ start: '2026-10-1', end: '2026-11-23' }));
    bad(windowed({ start: '2026-10-18', end: '2026-11-23x' }));
    bad(windowed({ start: 'x2026-10-18', end: '2026-11-23' }));
  });

  it('nothing to apply is refused; slices with no parts still replace the old rows; files without a staging table are refused', () => {
    expect(() => applySlicesScript([], 'load-x', ledger, GUARD)).toThrow('nothing to apply');
    const empty = applySlicesScript([{ ...loads[1]!, staging: [] }], 'load-x', ledger, GUARD);
    expect(empty.steps.map((s) => s.kind)).toEqual(['begin', 'assert', 'create_temp', 'assert', 'delete', 'insert', 'commit', 'select']);
    expect(empty.steps.find((s) => s.kind === 'insert')!.sql).toMatch(/^INSERT INTO `test-project\.ops\.loaded_slices`/);
    expect(empty.steps[2]!.sql).toContain('FROM (SELECT CAST(NULL AS STRING) AS _municipality_ibge FROM UNNEST([1]) WHERE FALSE)');
    for (const step of empty.steps.filter((s) => s.kind !== 'begin' && s.kind !== 'commit' && s.kind !== 'assert')) expect(() => parser.astify(step.sql, OPT)).not.toThrow();
    const withFiles = { ...loads[1]!, staging: [], slices: [load({ ...slice('3550308', null), uris: ['gs://b/part-00000.csv.gz'] })] };
    expect(() => applySlicesScript([withFiles], 'load-x', ledger, GUARD)).toThrow('tb_dim_equipe: no staging table');
  });

  it('a load with nothing to load writes nothing but still answers every slice', () => {
    const none = applySlicesScript([dimLoad(slice('3550308', null), { status: 'already_loaded' })], 'load-x', ledger, GUARD);
    expect(none.steps.map((s) => s.kind)).toEqual(['begin', 'assert', 'commit', 'select']);
    const select = none.steps.at(-1)!;
    expect(() => parser.astify(select.sql, OPT)).not.toThrow();
    expect(select.sql).toContain('FROM UNNEST(@slices) AS d LEFT JOIN (SELECT CAST(NULL AS STRING) AS table_name');
    expect(select.sql).toMatch(/ORDER BY d\.table_name, d\.municipality$/);
    expect(none.params.map((p) => p.name)).toEqual(['slices', 'load_id', 'pairs', 'since', 'ledger_rows_read']);
  });

  it('the slices parameter carries every decision: window keys, rows expected, the newer extraction of a stale slice, the message of a failed one', () => {
    const s = { ...slice('3304557', { start: '2026-09-01', end: '2026-10-01' }), rows: 1234 };
    const failed = { ...loads[0]!, slices: [load(s), { slice: slice('3550308', W), decision: { status: 'failed' as const, message: 'a value its type cannot hold' } }] };
    const p = applySlicesScript([failed, dimLoad(slice('3550308', null))], 'load-x', ledger, GUARD).params;
    expect(sliceParams(p)).toEqual([
      {
        table_name: FACT.name,
        municipality: '3304557',
        window_start: '2026-09-01',
        window_end: '2026-10-01',
        window_start_key: '20260901',
        window_end_key: '20261001',
        run_id: 'daily-20261122',
        extracted_at: '2026-11-22 09:00:00.123456+00:00',
        rows_expected: '1234',
        status: 'load',
        newer_extracted_at: null,
        message: null,
      },
      expect.objectContaining({ municipality: '3550308', status: 'failed', message: 'a value its type cannot hold', newer_extracted_at: null }),
      expect.objectContaining({ table_name: DIM.name, window_start: null, window_end: null, window_start_key: null, window_end_key: null, rows_expected: '10' }),
    ]);
    // A NULL travels as a parameter without a value; the struct declares every field's type.
    const slicesParam = p.find((x) => x.name === 'slices')!;
    expect([slicesParam.parameterType.type, slicesParam.parameterType.arrayType!.type]).toEqual(['ARRAY', 'STRUCT']);
    expect(slicesParam.parameterType.arrayType!.structTypes!.map((f) => [f.name, f.type.type])).toEqual([
      ['table_name', 'STRING'],
      ['municipality', 'STRING'],
      ['window_start', 'DATE'],
      ['window_end', 'DATE'],
      ['window_start_key', 'INT64'],
      ['window_end_key', 'INT64'],
      ['run_id', 'STRING'],
      ['extracted_at', 'TIMESTAMP'],
      ['rows_expected', 'INT64'],
      ['status', 'STRING'],
      ['newer_extracted_at', 'STRING'],
      ['message', 'STRING'],
    ]);
    expect(slicesParam.parameterValue.arrayValues![2]!.structValues!.window_start).toEqual({});
    expect(p.find((x) => x.name === 'pairs')!.parameterValue.arrayValues!.map((v) => v.value)).toEqual([`${FACT.name}/3304557`, `${FACT.name}/3550308`, `${DIM.name}/3550308`]);
    expect(p.find((x) => x.name === 'since')).toEqual({ name: 'since', parameterType: { type: 'TIMESTAMP' }, parameterValue: { value: '2026-11-22 09:00:00.123456+00:00' } });
    expect(p.find((x) => x.name === 'ledger_rows_read')!.parameterType.type).toBe('INT64');
    expect(sliceParams([])).toEqual([]);
    // Read by name, wherever it is in the list.
    expect(sliceParams([p.find((x) => x.name === 'since')!, ...p])).toEqual(sliceParams(p));
    expect(p.find((x) => x.name === 'pairs')!.parameterType).toEqual({ type: 'ARRAY', arrayType: { type: 'STRING' } });
  });

  it('window bounds prune only when every slice to load has a window; the municipalities to load are listed once, sorted', () => {
    const mixed = { ...loads[0]!, slices: [load(slice('3550308', W)), load(slice('3304557', null)), load(slice('3550308', W))] };
    const sc = applySlicesScript([mixed], 'load-x', ledger, GUARD);
    expect(sc.params.map((x) => x.name)).not.toContain('lo_0');
    expect(sc.steps.find((s) => s.kind === 'delete')!.sql).toMatch(
      /^DELETE `test-project\.raw\.tb_fat_atendimento_individual` r WHERE r\._municipality_ibge IN UNNEST\(@munis_0\) AND EXISTS/,
    );
    expect(sc.params.find((x) => x.name === 'munis_0')!.parameterValue.arrayValues!.map((v) => v.value)).toEqual(['3304557', '3550308']);
    expect(sc.params.find((x) => x.name === 'munis_0')!.parameterType).toEqual({ type: 'ARRAY', arrayType: { type: 'STRING' } });
    // The outer bounds: the earliest start and the latest end, whatever their order in the request.
    const spread = {
      ...loads[0]!,
      slices: [load(slice('3550308', { start: '2026-10-01', end: '2026-12-01' })), load(slice('3304557', { start: '2026-09-01', end: '2026-10-01' }))],
    };
    const bounds = applySlicesScript([spread], 'load-x', ledger, GUARD).params.filter((x) => x.name === 'lo_0' || x.name === 'hi_0');
    expect(bounds.map((x) => x.parameterValue.value)).toEqual(['20260901', '20261201']);
  });

  it("the script's comments and counts name the load; every statement is terminated", () => {
    expect(script.sql.split('\n')[0]).toBe('-- load load-daily-20261122-0123456789ab: 5 slice(s) of 3 table(s) in one transaction');
    expect(script.sql).toContain('-- the ledger: one INSERT per load\nINSERT INTO');
    expect(script.sql.split(';\n')).toHaveLength(script.steps.length);
    expect(script.sql.endsWith('ORDER BY d.table_name, d.municipality;')).toBe(true);
  });
});
