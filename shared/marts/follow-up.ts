import type { OwnedTable } from '../ledger/table-schema';
import { frozenClause, HONESTY_COLUMNS, refreshUnfrozen } from './honest-periods';
import { namesFrom } from './indicator-sql';
import { sqlLiteral, tableRef, type SqlDialect } from './sql-dialect';

/**
 * The Previne Brasil chronic-condition marts (indicators 6 and 7) per municipality, team and
 * quadrimestre: the shape Power BI reports were first built on. The evaluation itself is the one of
 * the star schema (shared/marts/indicators.ts: `previne_hypertension`, `previne_diabetes`), so the
 * two can never disagree; they are rebuilt in the fact's transaction (star.ts); docs/indicators/hypertension.md and diabetes.md hold the rules.
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
 * The refresh of one follow-up mart, run inside the star schema's fact refresh (star.ts), from the
 * fact rows of its indicator just written: delete the rows of periods that are not frozen, insert the
 * rows of every (municipality, quadrimestre) without frozen rows. DELETE + INSERT (not CREATE OR
 * REPLACE) keeps the table, and with it BigQuery's row access policies and Power BI's connection.
 */
export function followUpRefreshStatements(spec: FollowUpSpec, dialect: SqlDialect, factTable: string): string[] {
  const target = tableRef(dialect, 'marts', spec.name);
  const fact = tableRef(dialect, 'marts', factTable);
  const names = namesFrom(dialect);
  const columns = followUpTable(spec).columns.map((c) => c.name);
  const insert = `INSERT INTO ${target} (${columns.join(', ')})
SELECT
  f.municipality_ibge, MAX(mu.municipality_name), f.team_ine, MAX(t.team_name),
  f.quadrimestre, f.quadrimestre_start, f.quadrimestre_end, f.window_start, f.window_end,
  COUNT(*), SUM(f.in_numerator), ROUND(SUM(f.in_numerator) / COUNT(*), 4),
  MAX(f.period_closed), MIN(f.history_complete), MAX(f.data_as_of), CAST(CURRENT_TIMESTAMP AS TIMESTAMP)
FROM ${fact} f
LEFT JOIN ${names.teams} t ON t.municipality_ibge = f.municipality_ibge AND t.team_ine = f.team_ine
LEFT JOIN ${names.municipalities} mu ON mu.municipality_ibge = f.municipality_ibge
WHERE f.indicator_id = ${sqlLiteral(spec.indicatorId)}
  AND ${frozenClause(dialect, target, 'f.municipality_ibge', 'f.quadrimestre')}
GROUP BY f.municipality_ibge, f.team_ine, f.quadrimestre, f.quadrimestre_start, f.quadrimestre_end, f.window_start, f.window_end`;
  return refreshUnfrozen(dialect, target, insert);
}
