import { landedTables, PiiKind } from '../../shared/contracts/tables';
import { OPS_VIEWS, opsViewQuery } from '../../shared/ledger/schema';
import { bigQueryMartProcedures, MART_TABLES } from '../../shared/marts/marts';
import { bindBigQueryDatasets } from '../../shared/marts/sql-dialect';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { LOADED_SLICES_TABLE, rawTableSchema, toBigQuerySchemaJson, type BigQueryTableSpec } from '../../infra-cdktf/bigquery-schema';
import { deployedProcedureBody, warehouse } from '../../infra-cdktf/modules/bigquery';
import { martTables, opsTables } from '../../infra-cdktf/owned-tables';
import { once, synthModule } from './support/module-stack';
import { resources, type Body } from './support/synth';

/**
 * infra-cdktf/modules/bigquery.ts on its own (support/module-stack.ts says why; Power BI on top of
 * it: module-powerbi.test.ts), each stack synthesized once, in a `beforeAll` (`once`). Expected
 * values come from their single definitions: the table specs (rawTableSchema, opsTables,
 * martTables: partitioning, clustering, schema), the ops views, the mart procedures and the
 * environment config. The wired-together checks stay in contracts.test.ts and security.test.ts.
 */

const ref = (type: string, id: string, attr: string) => `\${${type}.${id}.${attr}}`;
const tagRef = (kind: string) => ref('google_data_catalog_policy_tag', `policy-tag-${kind}`, 'name');
const datasetRef = (key: string) => ref('google_bigquery_dataset', `dataset-${key}`, 'dataset_id');

const synthWarehouse = (o: Parameters<typeof synthModule>[1] = {}) => synthModule((ctx) => warehouse(ctx), o);

const PII_READERS = ['group:dpo@example.org', 'user:auditor@example.org'];
/** The dev config without its first municipality's Power BI group. */
// Each stack the tests check, synthesized once (support/module-stack.ts's `once` says why).
const dev = once(() => synthWarehouse());
const withPiiReaders = once(() => synthWarehouse({ config: (c) => ({ ...c, piiFineGrainedReaders: PII_READERS }) }));
/** A table body as the module must write it from its spec (the dataset by reference, tags by reference). */
const tableFrom = (project: string, dataset: string, spec: BigQueryTableSpec): Body => ({
  project,
  dataset_id: datasetRef(dataset),
  table_id: spec.tableId,
  description: spec.description,
  schema: JSON.stringify(toBigQuerySchemaJson(spec, tagRef)),
  ...(spec.rangePartitioning ? { range_partitioning: { field: spec.rangePartitioning.field, range: spec.rangePartitioning.range } } : {}),
  ...(spec.timePartitioning ? { time_partitioning: snake(spec.timePartitioning) } : {}),
  ...(spec.clustering.length > 0 ? { clustering: spec.clustering } : {}),
  deletion_protection: true,
});
const snake = (o: object): Body => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));

describe('warehouse module: datasets and personal-data tags', () => {
  test('raw, marts and ops in the region, named from the config, never emptied by a destroy', () => {
    const { json, config, out } = dev();
    const ds = json.resource.google_bigquery_dataset!;
    expect(Object.keys(ds).sort()).toEqual(['dataset-marts', 'dataset-ops', 'dataset-raw']);
    for (const key of ['raw', 'marts', 'ops'] as const) {
      expect(ds[`dataset-${key}`]).toEqual({
        project: config.projectId,
        dataset_id: config.datasets[key],
        location: config.region,
        description: expect.stringMatching(/\S{5,}/),
        delete_contents_on_destroy: false,
      });
      expect(out[key].node.id).toBe(`dataset-${key}`);
    }
    expect(new Set(Object.values(ds).map((d) => d.description)).size).toBe(3);
  });

  test('one taxonomy with fine-grained access control, one policy tag per kind of personal data, each described', () => {
    const { json, config, out } = dev();
    expect(json.resource.google_data_catalog_taxonomy).toEqual({
      'taxonomy-pii': {
        project: config.projectId,
        region: config.region,
        display_name: 'pii',
        description: expect.stringMatching(/\S{5,}/),
        activated_policy_types: ['FINE_GRAINED_ACCESS_CONTROL'],
      },
    });
    const tags = json.resource.google_data_catalog_policy_tag!;
    expect(Object.keys(tags).sort()).toEqual(PiiKind.options.map((k) => `policy-tag-${k}`).sort());
    for (const kind of PiiKind.options) {
      expect(tags[`policy-tag-${kind}`]).toEqual({
        taxonomy: ref('google_data_catalog_taxonomy', 'taxonomy-pii', 'id'),
        display_name: kind,
        description: expect.stringMatching(/\S{5,}/),
      });
      expect(out.policyTags[kind].node.id).toBe(`policy-tag-${kind}`);
    }
    expect(new Set(Object.values(tags).map((t) => t.description)).size).toBe(PiiKind.options.length);
    expect(out.taxonomy.node.id).toBe('taxonomy-pii');
  });

  test('each configured fine-grained reader may read the tagged columns (on the taxonomy); nobody else', () => {
    const { json: none, config: devConfig } = dev();
    expect(devConfig.piiFineGrainedReaders).toEqual([]);
    expect(resources(none, 'google_data_catalog_taxonomy_iam_member')).toEqual([]);
    const { json, config } = withPiiReaders();
    expect(config.piiFineGrainedReaders).toEqual(PII_READERS);
    expect(resources(json, 'google_data_catalog_taxonomy_iam_member').map(([, b]) => b)).toEqual(
      PII_READERS.map((member) => ({ taxonomy: ref('google_data_catalog_taxonomy', 'taxonomy-pii', 'name'), role: 'roles/datacatalog.categoryFineGrainedReader', member })),
    );
  });
});

describe('warehouse module: tables, views, procedures', () => {
  test('raw: one table per landed table, from its spec (partitioning, clustering, schema with policy tags), deletion-protected', () => {
    const { json, config, out } = dev();
    const landed = landedTables(PEC_TABLES);
    const raw = Object.fromEntries(resources(json, 'google_bigquery_table').filter(([id]) => id.startsWith('raw-')));
    expect(Object.keys(raw).sort()).toEqual(landed.map((t) => `raw-${t.name}`).sort());
    const specs = landed.map(rawTableSchema);
    // The oracle must have something to check: partitioned, clustered tables and tagged columns.
    expect(specs.some((s) => s.rangePartitioning)).toBe(true);
    expect(specs.some((s) => s.clustering.length > 0)).toBe(true);
    expect(specs.some((s) => s.personalData.length > 0)).toBe(true);
    for (const [i, t] of landed.entries()) expect(raw[`raw-${t.name}`]).toEqual(tableFrom(config.projectId, 'raw', specs[i]!));
    expect(Object.keys(out.martTables).length).toBeGreaterThan(0);
  });

  test('ops: the ledger tables and the set-aside views over raw, each view after its raw table', () => {
    const { json, config } = dev();
    const tables = resources(json, 'google_bigquery_table');
    const ops = opsTables();
    expect(ops.map((t) => t.tableId)).toContain(LOADED_SLICES_TABLE);
    for (const spec of ops) expect(json.resource.google_bigquery_table![`ops-${spec.tableId}`]).toEqual(tableFrom(config.projectId, 'ops', spec));
    expect(OPS_VIEWS.length).toBeGreaterThan(0);
    expect(tables.filter(([id]) => id.startsWith('ops-view-')).map(([id]) => id)).toEqual(OPS_VIEWS.map((v) => `ops-view-${v.name}`));
    for (const v of OPS_VIEWS)
      expect(json.resource.google_bigquery_table![`ops-view-${v.name}`]).toEqual({
        project: config.projectId,
        dataset_id: datasetRef('ops'),
        table_id: v.name,
        description: v.description,
        view: { query: opsViewQuery(v, (t) => `\`${config.projectId}.${config.datasets.raw}.${t}\``), use_legacy_sql: false },
        deletion_protection: true,
        depends_on: [`google_bigquery_table.raw-${v.rawTable}`],
      });
    expect(tables).toHaveLength(landedTables(PEC_TABLES).length + ops.length + OPS_VIEWS.length + martTables().length);
  });

  test('marts: one table per mart table; one SQL procedure per refreshed mart, its body bound to this environment, after the tables it names', () => {
    const { json, config, out } = dev();
    const marts = martTables();
    expect(marts.map((t) => t.tableId).sort()).toEqual(MART_TABLES.map((t) => t.name).sort());
    for (const spec of marts) {
      expect(json.resource.google_bigquery_table![`marts-${spec.tableId}`]).toEqual(tableFrom(config.projectId, 'marts', spec));
      expect(out.martTables[spec.tableId]!.node.id).toBe(`marts-${spec.tableId}`);
    }
    const procs = bigQueryMartProcedures();
    expect(procs.length).toBeGreaterThan(0);
    const after = [...landedTables(PEC_TABLES).map((t) => `raw-${t.name}`), ...marts.map((t) => `marts-${t.tableId}`), `ops-${LOADED_SLICES_TABLE}`];
    expect(Object.keys(json.resource.google_bigquery_routine!).sort()).toEqual(procs.map((p) => `marts-procedure-${p.mart}`).sort());
    for (const p of procs) {
      const body = bindBigQueryDatasets(p.body, { project: config.projectId, raw: config.datasets.raw, marts: config.datasets.marts, ops: config.datasets.ops });
      expect(json.resource.google_bigquery_routine![`marts-procedure-${p.mart}`]).toEqual({
        project: config.projectId,
        dataset_id: datasetRef('marts'),
        routine_id: p.routineId,
        routine_type: 'PROCEDURE',
        language: 'SQL',
        description: p.description,
        definition_body: body,
        depends_on: after.map((id) => `google_bigquery_table.${id}`),
      });
      expect(out.martProcedures[p.mart]!.node.id).toBe(`marts-procedure-${p.mart}`);
    }
  });

  test('deployedProcedureBody binds every dataset placeholder to this environment', () => {
    const { config } = dev();
    const other = { ...config, projectId: 'other-project', datasets: { raw: 'r1', marts: 'm1', ops: 'o1' } };
    for (const p of bigQueryMartProcedures()) {
      const body = deployedProcedureBody(p, other);
      expect(body).toBe(bindBigQueryDatasets(p.body, { project: 'other-project', raw: 'r1', marts: 'm1', ops: 'o1' }));
      expect(body).not.toMatch(/\{\{/);
    }
  });
});
