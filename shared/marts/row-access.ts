import { createHash } from 'node:crypto';
import type { MunicipalityRegistry } from '../contracts/municipalities';
import { MART_TABLES } from './marts';

/**
 * BigQuery row-level security for the marts, generated from the municipality registry: each
 * municipality's Power BI users (a Google group) see only their municipality's rows, and the
 * identity that rebuilds the marts keeps a TRUE filter (BigQuery requires one for DML on a table
 * with row access policies). One definition, two renderings: `rowAccessPolicies` (structured: what
 * infra-cdktf creates as google_bigquery_row_access_policy resources) and
 * `rowAccessPolicyStatements` (the same policies as DDL, for review or a manual `bq query`).
 *
 * One policy per *principal*, not per municipality: a group named for several municipalities (a
 * regional health department) gets one policy `municipality_ibge IN (…)`, so the policy count per
 * table is the number of distinct groups, whatever the number of municipalities.
 */
export interface RowAccessGrants {
  /**
   * The principal of a municipality's readers, e.g. (ibge) => `group:pec-bi-${ibge}@saude.example.gov.br`;
   * undefined: the municipality has no readers (only the all-rows principals see its rows).
   */
  readersOf: (ibge: string) => string | undefined;
  /** Who rebuilds the marts (the workflow's service account): needs every row for DELETE/INSERT. */
  writer: string;
  /** Optional principals that see every municipality (state-level analysts). */
  allRowsReaders?: string[];
}

export interface RowAccessOptions extends RowAccessGrants {
  project: string;
  martsDataset: string;
}

/** One row access policy on one mart table. */
export interface RowAccessPolicy {
  mart: string;
  /** Letters, digits and underscores (BigQuery's rule for policy ids). */
  policyId: string;
  grantees: string[];
  /** The FILTER USING expression. */
  filterPredicate: string;
}

/** Policy id of the TRUE filter held by the writer and the all-rows readers. */
export const ALL_ROWS_POLICY_ID = 'pipeline_all_rows';

const PRINCIPAL = /^(user|group|serviceAccount|domain):[A-Za-z0-9@._-]+$/;

function checkPrincipal(p: string): string {
  if (!PRINCIPAL.test(p)) throw new Error(`not an IAM principal: ${JSON.stringify(p)} (expected user:, group:, serviceAccount: or domain:)`);
  return p;
}

/**
 * The policies of every mart: first the TRUE filter for the writer (and the all-rows readers),
 * then one per readers' principal over the enabled municipalities it is named for. A principal
 * for one municipality gets `municipality_<ibge>` (readable in INFORMATION_SCHEMA); one for several
 * gets `readers_<hash of the principal>`, stable whatever municipalities are added to it.
 */
export function rowAccessPolicies(registry: MunicipalityRegistry, o: RowAccessGrants): RowAccessPolicy[] {
  const writers = [...new Set([o.writer, ...(o.allRowsReaders ?? [])])].map(checkPrincipal);
  const byPrincipal = new Map<string, string[]>();
  for (const m of registry.municipalities.filter((x) => x.enabled)) {
    const p = o.readersOf(m.ibge);
    if (p === undefined) continue;
    byPrincipal.set(checkPrincipal(p), [...(byPrincipal.get(p) ?? []), m.ibge]);
  }
  const out: RowAccessPolicy[] = [];
  // Every table of the dataset, the refresh state too: Power BI reads the dataset, so each table needs them.
  for (const mart of MART_TABLES) {
    out.push({ mart: mart.name, policyId: ALL_ROWS_POLICY_ID, grantees: writers, filterPredicate: 'TRUE' });
    for (const [principal, ibges] of byPrincipal) {
      // IBGE codes are 7 digits (validated by the registry schema): safe inside the literal.
      const literals = ibges.map((i) => `"${i}"`);
      out.push(
        ibges.length === 1
          ? { mart: mart.name, policyId: `municipality_${ibges[0]}`, grantees: [principal], filterPredicate: `municipality_ibge = ${literals[0]}` }
          : {
              mart: mart.name,
              policyId: `readers_${createHash('sha256').update(principal).digest('hex').slice(0, 16)}`,
              grantees: [principal],
              filterPredicate: `municipality_ibge IN (${literals.join(', ')})`,
            },
      );
    }
  }
  return out;
}

/** The same policies as BigQuery DDL (CREATE OR REPLACE: idempotent). */
export function rowAccessPolicyStatements(registry: MunicipalityRegistry, o: RowAccessOptions): string[] {
  for (const [k, v] of [
    ['project', o.project],
    ['martsDataset', o.martsDataset],
  ] as const)
    if (!/^[a-z][a-z0-9_-]*$/i.test(v)) throw new Error(`${k} ${JSON.stringify(v)} is not a valid BigQuery name`);
  return rowAccessPolicies(registry, o).map(
    (p) =>
      `CREATE OR REPLACE ROW ACCESS POLICY ${p.policyId} ON \`${o.project}.${o.martsDataset}.${p.mart}\` GRANT TO (${p.grantees.map((g) => `"${g}"`).join(', ')}) FILTER USING (${p.filterPredicate});`,
  );
}
