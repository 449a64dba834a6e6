import type { OwnedTable } from '../ledger/table-schema';
import { evaluatedWith, getIndicator } from './indicators';
import { frozenClause, HONESTY_COLUMNS, refreshUnfrozen } from './honest-periods';
import { tableRef, type SqlDialect } from './sql-dialect';

/**
 * The Previne Brasil chronic-condition marts (indicators 6 and 7) per municipality, team and
 * quadrimestre: the shape Power BI reports were first built on. The evaluation itself is the one of
 * the star schema (shared/marts/indicators.ts: `previne_hypertension`, `previne_diabetes`), so the
 * two can never disagree; docs/indicators/hypertension.md and diabetes.md hold the rules.
 */
export interface FollowUpSpec {
  name: 'hypertension_follow_up' | 'diabetes_follow_up';
  title: string;
  indicatorId: 'previne_hypertension' | 'previne_diabetes';
}

export const HYPERTENSION: FollowUpSpec = {
  name: 'hypertension_follow_up',
  title: 'Hypertension (Previne Brasil 6): consultation recording it and blood-pressure measurement in the last 6 months',
  indicatorId: 'previne_hypertension',
};

export const DIABETES: FollowUpSpec = {
  name: 'diabetes_follow_up',
  title: 'Diabetes (Previne Brasil 7): consultation recording it and HbA1c requested or evaluated in the last 6 months',
  indicatorId: 'previne_diabetes',
};

/** Columns of every follow-up mart (one definition: DuckDB DDL, BigQuery schema, docs/marts.md). */
export function followUpTable(spec: FollowUpSpec): OwnedTable {
  return {
    dataset: 'marts',
    name: spec.name,
    description: `${spec.title}; one row per municipality, team and quadrimestre (closed periods frozen)`,
    clustering: ['municipality_ibge', 'quadrimestre'],
    columns: [
      { name: 'municipality_ibge', type: 'string', required: true, description: 'IBGE code (7 digits); the row-level access policies filter on it' },
      { name: 'municipality_name', type: 'string', description: 'Municipality name as the PEC names it (tb_dim_municipio)' },
      { name: 'team_ine', type: 'string', required: true, description: "INE of the person's team; '-' when the PEC binds them to no team" },
      { name: 'team_name', type: 'string', description: 'Team name (tb_dim_equipe)' },
      { name: 'quadrimestre', type: 'string', required: true, description: "Evaluation period, e.g. '2026Q2' (Q1 Jan–Apr, Q2 May–Aug, Q3 Sep–Dec)" },
      { name: 'quadrimestre_start', type: 'date', required: true, description: 'First day of the quadrimestre' },
      { name: 'quadrimestre_end', type: 'date', required: true, description: 'Last day of the quadrimestre (the indicator is evaluated as of this day)' },
      { name: 'window_start', type: 'date', required: true, description: 'First day of the 6-month follow-up window (inclusive)' },
      { name: 'window_end', type: 'date', required: true, description: 'Day after the last day of the follow-up window (exclusive)' },
      { name: 'denominator', type: 'int', required: true, description: 'People with the condition, identified in the PEC (see docs/indicators)' },
      { name: 'numerator', type: 'int', required: true, description: 'People with the condition followed up in the window' },
      { name: 'rate', type: 'float', required: true, description: 'numerator / denominator, 4 decimals' },
      // New columns are NULLABLE: BigQuery adds a nullable column in place, a REQUIRED one replaces the table.
      ...HONESTY_COLUMNS,
      { name: 'refreshed_at', type: 'timestamp', required: true, description: 'When the row was computed (UTC); older than the last run for a frozen period' },
    ],
  };
}

/**
 * The refresh of one follow-up mart: delete the rows of periods that are not frozen, insert the
 * recomputed rows of every (municipality, quadrimestre) without frozen rows. DELETE + INSERT (not
 * CREATE OR REPLACE) keeps the table, and with it BigQuery's row access policies and Power BI's
 * connection.
 */
export function followUpRefreshStatements(spec: FollowUpSpec, dialect: SqlDialect): string[] {
  const target = tableRef(dialect, 'marts', spec.name);
  const raw = (t: string) => tableRef(dialect, 'raw', t);
  const columns = followUpTable(spec).columns.map((c) => c.name);
  const insert = `INSERT INTO ${target} (${columns.join(', ')})
${evaluatedWith(dialect, [getIndicator(spec.indicatorId)])}
SELECT
  e.municipality_ibge,
  mu.municipality_name,
  COALESCE(t.nu_ine, '-') AS team_ine,
  t.no_equipe AS team_name,
  per.quadrimestre,
  per.quadrimestre_start,
  per.quadrimestre_end,
  per.window_start,
  per.window_end,
  COUNT(*) AS denominator,
  SUM(e.in_numerator) AS numerator,
  ROUND(SUM(e.in_numerator) / COUNT(*), 4) AS rate,
  per.period_closed,
  MIN(e.history_complete) AS history_complete,
  per.data_as_of,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP) AS refreshed_at
FROM evaluated e
JOIN period per ON per.municipality_ibge = e.municipality_ibge AND per.y = e.y AND per.q = e.q
LEFT JOIN ${raw('tb_dim_equipe')} t ON t._municipality_ibge = e.municipality_ibge AND t.co_seq_dim_equipe = e.team_id
LEFT JOIN municipality mu ON mu.municipality_ibge = e.municipality_ibge
WHERE ${frozenClause(target, 'e.municipality_ibge', 'per.quadrimestre')}
GROUP BY e.municipality_ibge, mu.municipality_name, COALESCE(t.nu_ine, '-'), t.no_equipe,
  per.quadrimestre, per.quadrimestre_start, per.quadrimestre_end, per.window_start, per.window_end, per.period_closed, per.data_as_of`;
  return refreshUnfrozen(target, insert);
}
