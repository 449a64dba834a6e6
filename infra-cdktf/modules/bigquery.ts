import { landedTables, PiiKind, type TableDef } from '../../shared/contracts/tables';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { LOADED_SLICES_TABLE, rawTableSchema, toBigQuerySchemaJson, type BigQueryTableSpec, type PiiKindName } from '../bigquery-schema';
import { BigqueryDataset, BigqueryRoutine, BigqueryTable, DataCatalogPolicyTag, DataCatalogTaxonomy } from '../google';
import { grant } from '../iam';
import { OPS_VIEWS, opsViewQuery } from '../../shared/ledger/schema';
import { martTables, opsTables } from '../owned-tables';
import { bigQueryMartProcedures, type MartProcedure } from '../../shared/marts/marts';
import { bindBigQueryDatasets } from '../../shared/marts/sql-dialect';
import type { EnvironmentConfig } from '../config';
import { iamCtx, type StackContext } from './context';

type Kind = PiiKindName;

export interface Warehouse {
  raw: BigqueryDataset;
  marts: BigqueryDataset;
  ops: BigqueryDataset;
  taxonomy: DataCatalogTaxonomy;
  /** One policy tag per kind of personal data (fine-grained reader grants go on these). */
  policyTags: Record<Kind, DataCatalogPolicyTag>;
  /** The marts tables by name (row access policies go on these). */
  martTables: Record<string, BigqueryTable>;
  /** The stored procedures the workflow CALLs to refresh the marts, by mart name. */
  martProcedures: Record<string, BigqueryRoutine>;
}

const PII_DESCRIPTIONS: Record<Kind, string> = {
  cpf: 'CPF (taxpayer number); lands only as a keyed pseudonym',
  cns: 'CNS (SUS card number); lands only as a keyed pseudonym',
  name: 'Person names',
  phone: 'Phone numbers',
  email: 'E-mail addresses',
  birth_date: 'Birth dates (quasi-identifier)',
  address: 'Addresses',
  location: 'Geographic coordinates',
  record_number: 'Medical record numbers',
  micro_area: 'Community-health micro-area (quasi-identifier)',
};

/** A mart procedure's body as deployed: this environment's project and datasets bound in. */
export function deployedProcedureBody(p: MartProcedure, config: EnvironmentConfig): string {
  return bindBigQueryDatasets(p.body, { project: config.projectId, raw: config.datasets.raw, marts: config.datasets.marts, ops: config.datasets.ops });
}

export function warehouse(ctx: StackContext, tables: readonly TableDef[] = PEC_TABLES): Warehouse {
  const { config } = ctx;
  const dataset = (key: 'raw' | 'marts' | 'ops', description: string) =>
    new BigqueryDataset(ctx.scope, `dataset-${key}`, {
      project: config.projectId,
      datasetId: config.datasets[key],
      location: config.region,
      description,
      // A `terraform destroy` must never take the data with it.
      deleteContentsOnDestroy: false,
    });
  const raw = dataset('raw', 'Landed PEC tables: one slice per municipality and window, replaced by the loader');
  const marts = dataset('marts', 'Indicator tables for Power BI (the only dataset Power BI can read)');
  const ops = dataset('ops', 'Run ledger: loaded slices, runs, municipality runs, reconciliation, alerts');

  // Fine-grained access control: a column with a policy tag is readable only by holders of
  // roles/datacatalog.categoryFineGrainedReader on the tag (or the taxonomy), whatever their dataset role.
  const taxonomy = new DataCatalogTaxonomy(ctx.scope, 'taxonomy-pii', {
    project: config.projectId,
    region: config.region,
    displayName: 'pii',
    description: 'Personal data in the PEC pipeline (LGPD): one policy tag per kind of personal data',
    activatedPolicyTypes: ['FINE_GRAINED_ACCESS_CONTROL'],
  });
  const tags = Object.fromEntries(
    PiiKind.options.map((kind) => [
      kind,
      new DataCatalogPolicyTag(ctx.scope, `policy-tag-${kind}`, { taxonomy: taxonomy.id, displayName: kind, description: PII_DESCRIPTIONS[kind] }),
    ]),
  ) as Record<Kind, DataCatalogPolicyTag>;
  for (const [i, member] of config.piiFineGrainedReaders.entries())
    grant(ctx.scope, `pii-reader-${i}`, member, [{ on: 'taxonomy', taxonomy, role: 'roles/datacatalog.categoryFineGrainedReader' }], iamCtx(ctx));

  const table = (id: string, dataset: BigqueryDataset, spec: BigQueryTableSpec) =>
    new BigqueryTable(ctx.scope, id, {
      project: config.projectId,
      datasetId: dataset.datasetId,
      tableId: spec.tableId,
      description: spec.description,
      schema: JSON.stringify(toBigQuerySchemaJson(spec, (kind) => tags[kind].name)),
      ...(spec.rangePartitioning ? { rangePartitioning: spec.rangePartitioning } : {}),
      ...(spec.timePartitioning ? { timePartitioning: spec.timePartitioning } : {}),
      ...(spec.clustering.length > 0 ? { clustering: spec.clustering } : {}),
      // Changes that need a new table must be done deliberately (export, recreate, reload).
      deletionProtection: true,
    });
  const rawTables = Object.fromEntries(landedTables(tables).map((t) => [t.name, table(`raw-${t.name}`, raw, rawTableSchema(t))]));
  const opsByName = Object.fromEntries(opsTables().map((t) => [t.tableId, table(`ops-${t.tableId}`, ops, t)]));
  // Views over raw tables (the set-aside values), from the ledger's one definition. The dataset's own
  // readers read them; no grant is added (nor an authorized view: reading one needs `raw` access too).
  for (const v of OPS_VIEWS)
    new BigqueryTable(ctx.scope, `ops-view-${v.name}`, {
      project: config.projectId,
      datasetId: ops.datasetId,
      tableId: v.name,
      description: v.description,
      view: { query: opsViewQuery(v, (t) => `\`${config.projectId}.${config.datasets.raw}.${t}\``), useLegacySql: false },
      // Like every table of the stack (a view holds no data, but dropping it is still deliberate).
      deletionProtection: true,
      dependsOn: [rawTables[v.rawTable]!],
    });
  // The marts refresh only DELETEs and INSERTs (never drops), so the tables and their row access
  // policies (modules/powerbi.ts) survive every refresh.
  const martsByName = Object.fromEntries(martTables().map((t) => [t.tableId, table(`marts-${t.tableId}`, marts, t)]));
  // One procedure per refreshed mart, its body the SQL the local warehouse runs too (shared/marts),
  // with this environment's datasets bound in. It runs with the caller's rights (the workflow's
  // service account reads raw and writes marts); re-applying the stack replaces the body in place.
  const procedures = Object.fromEntries(
    bigQueryMartProcedures().map((p) => [
      p.mart,
      new BigqueryRoutine(ctx.scope, `marts-procedure-${p.mart}`, {
        project: config.projectId,
        datasetId: marts.datasetId,
        routineId: p.routineId,
        routineType: 'PROCEDURE',
        language: 'SQL',
        description: p.description,
        definitionBody: deployedProcedureBody(p, config),
        // The body names raw and marts tables, and the slice ledger in ops (the refresh's scope):
        // BigQuery resolves them when the procedure is created.
        dependsOn: [...Object.values(rawTables), ...Object.values(martsByName), opsByName[LOADED_SLICES_TABLE]!],
      }),
    ]),
  );
  return { raw, marts, ops, taxonomy, policyTags: tags, martTables: martsByName, martProcedures: procedures };
}
