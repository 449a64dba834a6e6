import { rawTableSchema, toTableResource } from '../../shared/adapters/gcp/bigquery-schema';
import { duckDbColumnType, landedColumns, TableRegistry } from '../../shared/contracts/tables';
import { toBigQuerySchemaJson } from '../../infra-cdktf/bigquery-schema';

/**
 * A registry column pinned to numeric(p,s) lands as DECIMAL(p,s) in DuckDB and NUMERIC(p,s) in
 * BigQuery: the same parameters in the raw table the stack creates (Terraform schema JSON) and the
 * one the loader creates or checks (tables API resource). Unpinned numerics keep the contract's
 * NUMERIC / DECIMAL(38,9) with no parameters. (Round trip through PostgreSQL and DuckDB:
 * test/integration/type-roundtrip.test.ts.)
 */
const [table] = TableRegistry.parse([
  {
    name: 'tb_pa',
    description: 'pinned',
    primaryKey: ['co_seq'],
    municipality: { kind: 'installation' },
    mode: { kind: 'full' },
    columns: [
      { name: 'co_seq', type: 'bigint' },
      { name: 'nu_pressao_sistolica', type: 'numeric', precision: 5, scale: 1 },
      { name: 'nu_peso', type: 'numeric' },
      // Hashed: lands as text, so the pin does not apply downstream.
      { name: 'nu_doc', type: 'numeric', precision: 11, scale: 0, pii: { kind: 'cpf', policy: 'hash' } },
    ],
  },
]);

describe('a numeric column pinned by the registry', () => {
  it('lands as DECIMAL(p,s) in DuckDB; an unpinned or hashed one keeps its contract type', () => {
    const types = Object.fromEntries(landedColumns(table!).map((c) => [c.name, duckDbColumnType(c)]));
    expect(types).toEqual({ co_seq: 'BIGINT', nu_pressao_sistolica: 'DECIMAL(5,1)', nu_peso: 'DECIMAL(38,9)', nu_doc: 'VARCHAR' });
  });

  it('lands as NUMERIC(p,s) in BigQuery, in the stack and in the loader alike', () => {
    const spec = rawTableSchema(table!);
    const field = (name: string) => spec.fields.find((f) => f.name === name)!;
    expect(field('nu_pressao_sistolica')).toMatchObject({ type: 'NUMERIC', precision: 5, scale: 1 });
    expect(field('nu_peso').precision).toBeUndefined();
    expect(field('nu_doc')).toMatchObject({ type: 'STRING' });
    expect(field('nu_doc').precision).toBeUndefined();

    const terraform = toBigQuerySchemaJson(spec, (kind) => `tag-${kind}`) as Record<string, unknown>[];
    const api = (toTableResource(spec).schema as { fields: Record<string, unknown>[] }).fields;
    for (const fields of [terraform, api]) {
      expect(fields.find((f) => f.name === 'nu_pressao_sistolica')).toMatchObject({ type: 'NUMERIC', precision: '5', scale: '1' });
      expect(fields.find((f) => f.name === 'nu_peso')).not.toHaveProperty('precision');
    }
  });
});
