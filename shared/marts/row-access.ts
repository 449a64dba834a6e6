import type { MunicipalityRegistry } from '../contracts/municipalities';
import { MARTS } from './marts';

/**
 * BigQuery row-level security for the marts, generated from the municipality registry: each
 * municipality's Power BI users (a Google group per municipality) see only their municipality's
 * rows, and the identity that rebuilds the marts keeps a TRUE filter (BigQuery requires one for
 * DML on a table with row access policies). Run the statements with `bq query --use_legacy_sql=false`
 * after the tables exist and whenever the registry changes; CREATE OR REPLACE makes that idempotent.
 */
export interface RowAccessOptions {
  project: string;
  martsDataset: string;
  /** The principal of a municipality's readers, e.g. (ibge) => `group:pec-bi-${ibge}@saude.example.gov.br`. */
  readersOf: (ibge: string) => string;
  /** Who rebuilds the marts (the workflow's service account): needs every row for DELETE/INSERT. */
  writer: string;
  /** Optional principals that see every municipality (state-level analysts). */
  allRowsReaders?: string[];
}

const PRINCIPAL = /^(user|group|serviceAccount|domain):[A-Za-z0-9@._-]+$/;

function principal(p: string): string {
  if (!PRINCIPAL.test(p)) throw new Error(`not an IAM principal: ${JSON.stringify(p)} (expected user:, group:, serviceAccount: or domain:)`);
  return `"${p}"`;
}

export function rowAccessPolicyStatements(registry: MunicipalityRegistry, o: RowAccessOptions): string[] {
  for (const [k, v] of [['project', o.project], ['martsDataset', o.martsDataset]] as const)
    if (!/^[a-z][a-z0-9_-]*$/i.test(v)) throw new Error(`${k} ${JSON.stringify(v)} is not a valid BigQuery name`);
  const out: string[] = [];
  for (const mart of MARTS) {
    const table = `\`${o.project}.${o.martsDataset}.${mart.name}\``;
    out.push(
      `CREATE OR REPLACE ROW ACCESS POLICY pipeline_all_rows ON ${table} GRANT TO (${[o.writer, ...(o.allRowsReaders ?? [])].map(principal).join(', ')}) FILTER USING (TRUE)`,
    );
    for (const m of registry.municipalities.filter((x) => x.enabled))
      out.push(`CREATE OR REPLACE ROW ACCESS POLICY municipality_${m.ibge} ON ${table} GRANT TO (${principal(o.readersOf(m.ibge))}) FILTER USING (municipality_ibge = "${m.ibge}")`);
  }
  return out.map((s) => `${s};`);
}
