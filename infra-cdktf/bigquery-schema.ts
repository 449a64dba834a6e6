import { PiiKind } from '../shared/contracts/tables';
import { numericParams, type BigQueryField, type BigQueryTableSpec } from '../shared/adapters/gcp/bigquery-schema';

/**
 * Table shapes come from the loader's own pure definitions (shared/adapters/gcp/bigquery-schema.ts:
 * rawTableSchema, loadedSlicesSchema), so the tables Terraform creates and the ones the load
 * function writes to (or creates when missing) cannot disagree on columns, modes, partitioning or
 * clustering. This file only turns a spec into the `schema` JSON of google_bigquery_table, adding a
 * policy tag to each personal-data column.
 */
export { LOADED_SLICES_TABLE, loadedSlicesSchema, rawTableSchema, YYYYMMDD_MONTH_RANGE } from '../shared/adapters/gcp/bigquery-schema';
export type { BigQueryField, BigQueryTableSpec } from '../shared/adapters/gcp/bigquery-schema';

export type PiiKindName = (typeof PiiKind.options)[number];

/** The JSON BigQuery's tables API takes as `schema`; `policyTagFor` names the tag of a kind. */
export function toBigQuerySchemaJson(spec: Pick<BigQueryTableSpec, 'fields' | 'personalData'>, policyTagFor: (kind: PiiKindName) => string): object[] {
  const personal = new Map(spec.personalData.map((p) => [p.column, PiiKind.parse(p.kind)]));
  return spec.fields.map((f: BigQueryField) => {
    const kind = personal.get(f.name);
    return {
      name: f.name,
      type: f.type,
      mode: f.mode,
      ...(f.description ? { description: f.description } : {}),
      ...numericParams(f),
      ...(kind ? { policyTags: { names: [policyTagFor(kind)] } } : {}),
    };
  });
}
