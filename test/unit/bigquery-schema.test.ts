import { bigQueryType, loadedSlicesSchema, numericParams, rawTableSchema, stagingFields, toTableResource, YYYYMMDD_MONTH_RANGE } from '../../shared/adapters/gcp/bigquery-schema';
import { TableDef } from '../../shared/contracts/tables';

/**
 * The BigQuery tables derived from the registry (shared/adapters/gcp/bigquery-schema.ts), written
 * out in full for hand-made tables: what lands (dropped columns never, hashed ones as described
 * STRING pseudonyms), partitioning by month, clustering by municipality first, the ingestion columns
 * REQUIRED, and the REST form (int64 values as strings). Infra and the loader import these functions;
 * test/infra/contracts.test.ts compares the two sides, this file checks what they both say.
 */
const WINDOWED = TableDef.parse({
  name: 'tb_fat_x',
  description: 'a fact',
  primaryKey: ['co_seq'],
  municipality: { kind: 'column', column: 'co_dim_municipio' },
  mode: { kind: 'window', column: 'co_dim_tempo', keyFormat: 'yyyymmdd' },
  columns: [
    { name: 'co_seq', type: 'bigint', description: 'the key' },
    { name: 'co_dim_municipio', type: 'bigint' },
    { name: 'co_dim_tempo', type: 'integer' },
    { name: 'nu_cns', type: 'text', pii: { kind: 'cns', policy: 'hash' }, description: 'CNS' },
    { name: 'nu_cpf', type: 'text', pii: { kind: 'cpf', policy: 'hash' } },
    { name: 'no_cidadao', type: 'text', pii: { kind: 'name', policy: 'drop' } },
    { name: 'dt_nascimento', type: 'date', pii: { kind: 'birth_date', policy: 'keep', reason: 'age bands in the marts' } },
    { name: 'nu_peso', type: 'numeric', precision: 5, scale: 1 },
  ],
});
const BY_DATE = TableDef.parse({
  name: 'tb_eventos',
  description: 'events',
  primaryKey: ['co_seq'],
  municipality: { kind: 'installation' },
  mode: { kind: 'window', column: 'dt_evento', keyFormat: 'date' },
  columns: [
    { name: 'co_seq', type: 'bigint' },
    { name: 'dt_evento', type: 'date' },
  ],
});
const FULL = TableDef.parse({
  name: 'tb_dim_x',
  description: 'a dimension',
  primaryKey: ['co_seq'],
  municipality: { kind: 'installation' },
  mode: { kind: 'full' },
  columns: [{ name: 'co_seq', type: 'smallint' }],
});
const INGESTION = [
  { name: '_municipality_ibge', type: 'STRING', mode: 'REQUIRED', description: 'IBGE code (7 digits) of the municipality the row was extracted for' },
  { name: '_run_id', type: 'STRING', mode: 'REQUIRED', description: 'Run that extracted the row' },
  { name: '_extracted_at', type: 'DATETIME', mode: 'REQUIRED', description: 'Start of the source snapshot (UTC) the row was read in' },
];

describe('raw tables from the registry', () => {
  it('a windowed fact: landed columns then the ingestion columns; monthly integer ranges; clustered by municipality, then the key', () => {
    expect(rawTableSchema(WINDOWED)).toEqual({
      tableId: 'tb_fat_x',
      description: 'a fact',
      fields: [
        { name: 'co_seq', type: 'INT64', mode: 'NULLABLE', description: 'the key' },
        { name: 'co_dim_municipio', type: 'INT64', mode: 'NULLABLE' },
        { name: 'co_dim_tempo', type: 'INT64', mode: 'NULLABLE' },
        { name: 'nu_cns', type: 'STRING', mode: 'NULLABLE', description: 'CNS; HMAC-SHA-256 pseudonym (first 128 bits, 32 hex characters)' },
        { name: 'nu_cpf', type: 'STRING', mode: 'NULLABLE', description: 'HMAC-SHA-256 pseudonym (first 128 bits, 32 hex characters)' },
        { name: 'dt_nascimento', type: 'DATE', mode: 'NULLABLE' },
        { name: 'nu_peso', type: 'NUMERIC', mode: 'NULLABLE', precision: 5, scale: 1 },
        ...INGESTION,
      ],
      rangePartitioning: { field: 'co_dim_tempo', range: { start: 20_000_000, end: 20_500_000, interval: 100 } },
      clustering: ['_municipality_ibge', 'co_dim_tempo'],
      personalData: [
        { column: 'nu_cns', kind: 'cns', policy: 'hash' },
        { column: 'nu_cpf', kind: 'cpf', policy: 'hash' },
        { column: 'dt_nascimento', kind: 'birth_date', policy: 'keep' },
      ],
    });
  });

  it('one partition a month from 2000-01 to 2049-12, within BigQuery’s 10,000 partitions', () => {
    expect(YYYYMMDD_MONTH_RANGE).toEqual({ start: 20_000_000, end: 20_500_000, interval: 100 });
    // 20261122 and 20261101 share a partition; 20261201 does not.
    const partition = (k: number) => Math.floor((k - YYYYMMDD_MONTH_RANGE.start) / YYYYMMDD_MONTH_RANGE.interval);
    expect(partition(20261122)).toBe(partition(20261101));
    expect(partition(20261201)).not.toBe(partition(20261131));
  });

  it('a table windowed by a date: monthly time partitioning on it; a full refresh: clustering by municipality only, no partitioning', () => {
    const byDate = rawTableSchema(BY_DATE);
    expect(byDate.timePartitioning).toEqual({ type: 'MONTH', field: 'dt_evento' });
    expect(byDate.rangePartitioning).toBeUndefined();
    expect(byDate.clustering).toEqual(['_municipality_ibge', 'dt_evento']);
    const full = rawTableSchema(FULL);
    expect(full).toEqual({
      tableId: 'tb_dim_x',
      description: 'a dimension',
      fields: [{ name: 'co_seq', type: 'INT64', mode: 'NULLABLE' }, ...INGESTION],
      clustering: ['_municipality_ibge'],
      personalData: [],
    });
  });

  it('the REST resource: int64 values as strings, descriptions and pins only where set', () => {
    expect(toTableResource(rawTableSchema(WINDOWED), { expirationTime: '123' })).toEqual({
      description: 'a fact',
      schema: {
        fields: [
          { name: 'co_seq', type: 'INT64', mode: 'NULLABLE', description: 'the key' },
          { name: 'co_dim_municipio', type: 'INT64', mode: 'NULLABLE' },
          { name: 'co_dim_tempo', type: 'INT64', mode: 'NULLABLE' },
          { name: 'nu_cns', type: 'STRING', mode: 'NULLABLE', description: 'CNS; HMAC-SHA-256 pseudonym (first 128 bits, 32 hex characters)' },
          { name: 'nu_cpf', type: 'STRING', mode: 'NULLABLE', description: 'HMAC-SHA-256 pseudonym (first 128 bits, 32 hex characters)' },
          { name: 'dt_nascimento', type: 'DATE', mode: 'NULLABLE' },
          { name: 'nu_peso', type: 'NUMERIC', mode: 'NULLABLE', precision: '5', scale: '1' },
          ...INGESTION,
        ],
      },
      rangePartitioning: { field: 'co_dim_tempo', range: { start: '20000000', end: '20500000', interval: '100' } },
      clustering: { fields: ['_municipality_ibge', 'co_dim_tempo'] },
      expirationTime: '123',
    });
    const byDate = toTableResource(rawTableSchema(BY_DATE));
    expect(byDate.timePartitioning).toEqual({ type: 'MONTH', field: 'dt_evento' });
    expect(byDate).not.toHaveProperty('rangePartitioning');
    expect(toTableResource({ ...rawTableSchema(FULL), clustering: [] })).not.toHaveProperty('clustering');
    expect(toTableResource(rawTableSchema(FULL))).not.toHaveProperty('timePartitioning');
    expect(numericParams({ precision: 10 })).toEqual({ precision: '10', scale: '0' });
    expect(numericParams({})).toEqual({});
  });
});

describe('the slice ledger and the staging tables', () => {
  it('ops.loaded_slices: one row per applied slice, its keys required, the window nullable (a full refresh), clustered by table and municipality', () => {
    const spec = loadedSlicesSchema();
    expect(spec.tableId).toBe('loaded_slices');
    expect(spec.fields.map(({ name, type, mode }) => [name, type, mode])).toEqual([
      ['table_name', 'STRING', 'REQUIRED'],
      ['municipality', 'STRING', 'REQUIRED'],
      ['window_start', 'DATE', 'NULLABLE'],
      ['window_end', 'DATE', 'NULLABLE'],
      ['run_id', 'STRING', 'REQUIRED'],
      ['extracted_at', 'TIMESTAMP', 'REQUIRED'],
      ['rows_loaded', 'INT64', 'REQUIRED'],
      ['load_id', 'STRING', 'REQUIRED'],
      ['loaded_at', 'TIMESTAMP', 'REQUIRED'],
    ]);
    for (const f of spec.fields) expect(f.description!.length).toBeGreaterThan(5);
    expect(spec.clustering).toEqual(['table_name', 'municipality']);
    expect(spec.personalData).toEqual([]);
    expect(spec.rangePartitioning ?? spec.timePartitioning).toBeUndefined();
  });

  it('staging fields: the files’ columns in file order, all nullable, in BigQuery types', () => {
    expect(
      stagingFields([
        { name: 'b', type: 'double' },
        { name: 'a', type: 'timestamp' },
      ]),
    ).toEqual([
      { name: 'b', type: 'FLOAT64', mode: 'NULLABLE' },
      { name: 'a', type: 'DATETIME', mode: 'NULLABLE' },
    ]);
    expect(bigQueryType('numeric')).toBe('NUMERIC');
  });
});
