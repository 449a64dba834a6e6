import type { OwnedColumn, OwnedTable } from '../ledger/table-schema';
import { HONESTY_COLUMNS, frozenClause, refreshUnfrozen } from './honest-periods';
import { TEAM_TYPE, commonCtes, list, namesFrom, realDay } from './indicator-sql';
import { sqlLiteral, tableRef, type SqlDialect } from './sql-dialect';

/**
 * C1 "Mais Acesso" (docs/indicators/c1-mais-acesso.md): the share of scheduled consultations among
 * the scheduled and spontaneous ones of each team, per quadrimestre. Its unit is the consultation,
 * not the person, so it is a mart of its own (no person fact, no good practices, no nominal list),
 * with the same honest-period columns and freezing as the star schema.
 */

/** The seven occupations of the C1 note (item 24 c), six digits as the PEC stores them. */
export const ACCESS_CBO = ['225142', '225170', '225130', '225125', '225250', '223565', '223505'] as const;

/** Kind of demand (tb_dim_tipo_atendimento.nu_identificador, e-SUS codes): scheduled and spontaneous. */
export const DEMAND_KINDS = {
  /** 1 scheduled programmed consultation / continued care, 2 scheduled consultation. */
  scheduled: ['1', '2'],
  /** 4 initial listening / orientation, 5 same-day consultation, 6 urgent care. */
  spontaneous: ['4', '5', '6'],
} as const;

/** The note's bands (item 30), over the proportion: optimal > 0.5 and ≤ 0.7; good > 0.3; sufficient > 0.1; regular ≤ 0.1 or > 0.7. */
const BANDS = { optimal: [0.5, 0.7], good: [0.3, 0.5], sufficient: [0.1, 0.3] } as const;

const col = (name: string, type: OwnedColumn['type'], description: string, required = true): OwnedColumn => ({ name, type, required, description });

export const ACCESS_TABLE: OwnedTable = {
  dataset: 'marts',
  name: 'access_team_period',
  description: 'C1 "Mais Acesso": scheduled and spontaneous consultations by a doctor or nurse per municipality, team and quadrimestre',
  timePartitioning: { type: 'MONTH', field: 'quadrimestre_start' },
  clustering: ['municipality_ibge', 'team_ine'],
  columns: [
    col('municipality_ibge', 'string', 'IBGE code (7 digits); the row access policies filter on it'),
    col('municipality_name', 'string', 'Municipality name as the PEC names it (tb_dim_municipio)', false),
    col('team_key', 'string', "'<municipality_ibge>:<team_ine>': relates to dim_team"),
    col('team_ine', 'string', "INE of the professional's team in the consultation (co_dim_equipe_1); '-' when none"),
    col('team_name', 'string', 'Team name (tb_dim_equipe)', false),
    col('period_key', 'string', "'<municipality_ibge>:<quadrimestre>': relates to dim_period"),
    col('quadrimestre', 'string', "Evaluation period, e.g. '2026Q2' (Q1 Jan–Apr, Q2 May–Aug, Q3 Sep–Dec)"),
    col('quadrimestre_start', 'date', 'First day of the quadrimestre (partition column; sort by it)'),
    col('quadrimestre_end', 'date', 'Last day of the quadrimestre'),
    col('scheduled', 'int', 'Consultations of scheduled demand (kinds 1 scheduled programmed / continued care, 2 scheduled): the numerator'),
    col('spontaneous', 'int', 'Consultations of spontaneous demand (kinds 4 initial listening, 5 same-day, 6 urgent care)'),
    col('total', 'int', 'scheduled + spontaneous: the denominator'),
    col('proportion', 'float', 'scheduled / total, 4 decimals (the note publishes it as a percentage)'),
    col('band', 'string', "The note's band: 'optimal' (> 50 % and ≤ 70 %), 'good' (> 30 %), 'sufficient' (> 10 %), 'regular' (≤ 10 % or > 70 %)"),
    ...HONESTY_COLUMNS.map((c) =>
      c.name === 'history_complete'
        ? { ...c, required: true, description: "1 when the municipality's loaded history starts no later than the quadrimestre's first month; 0: an undercount" }
        : { ...c, required: true },
    ),
    col('refreshed_at', 'timestamp', 'When the row was computed (UTC); a frozen row keeps the time it was frozen'),
    // Appended: an older table gains it in place (docs/marts.md).
    col(
      'team_type',
      'string',
      "Ministry of Health code of the team's type in force on the quadrimestre's last day (docs/indicators/common.md): '70' eSF, '76' eAP; NULL when the PEC does not say",
      false,
    ),
  ],
};

export function accessRefreshStatements(dialect: SqlDialect): string[] {
  const target = tableRef(dialect, 'marts', ACCESS_TABLE.name);
  const raw = (t: string) => tableRef(dialect, 'raw', t);
  const names = namesFrom(dialect);
  const exact = 'SUM(c.scheduled) / COUNT(*)';
  const band = `CASE ${Object.entries(BANDS)
    .map(([name, [low, high]]) => `WHEN ${exact} > ${low} AND ${exact} <= ${high} THEN ${sqlLiteral(name)}`)
    .join(' ')} ELSE ${sqlLiteral('regular')} END`;
  return refreshUnfrozen(
    dialect,
    target,
    `INSERT INTO ${target} (${ACCESS_TABLE.columns.map((c) => c.name).join(', ')})
WITH ${commonCtes(dialect)},
consultation AS (
  -- Consultations by the note's doctors and nurses, of a scheduled or spontaneous kind, of an identified person (CPF or CNS).
  SELECT a._municipality_ibge AS municipality_ibge, a.co_dim_tempo AS day_key, a.co_dim_equipe_1 AS team_id, COALESCE(NULLIF(t.nu_ine, ''), '-') AS team_ine,
    CASE WHEN k.nu_identificador IN (${list(DEMAND_KINDS.scheduled)}) THEN 1 ELSE 0 END AS scheduled,
    CASE WHEN k.nu_identificador IN (${list(DEMAND_KINDS.spontaneous)}) THEN 1 ELSE 0 END AS spontaneous
  FROM ${raw('tb_fat_atendimento_individual')} a
  JOIN ${raw('tb_dim_cbo')} cbo ON cbo._municipality_ibge = a._municipality_ibge AND cbo.co_seq_dim_cbo = a.co_dim_cbo_1
  JOIN ${raw('tb_dim_tipo_atendimento')} k ON k._municipality_ibge = a._municipality_ibge AND k.co_seq_dim_tipo_atendimento = a.co_dim_tipo_atendimento
  LEFT JOIN ${raw('tb_dim_equipe')} t ON t._municipality_ibge = a._municipality_ibge AND t.co_seq_dim_equipe = a.co_dim_equipe_1
  JOIN record r ON r.municipality_ibge = a._municipality_ibge AND r.citizen_id = a.co_fat_cidadao_pec
  WHERE cbo.nu_cbo IN (${list(ACCESS_CBO)})
    AND k.nu_identificador IN (${list([...DEMAND_KINDS.scheduled, ...DEMAND_KINDS.spontaneous])})
    AND (r.cpf IS NOT NULL OR r.cns IS NOT NULL)
    AND ${realDay('a.co_dim_tempo')}
)
SELECT c.municipality_ibge, MAX(mu.municipality_name), c.municipality_ibge || ':' || c.team_ine, c.team_ine, MAX(tn.team_name),
  c.municipality_ibge || ':' || per.quadrimestre, per.quadrimestre, per.quadrimestre_start, per.quadrimestre_end,
  SUM(c.scheduled), SUM(c.spontaneous), COUNT(*), ROUND(${exact}, 4), ${band},
  MAX(per.period_closed),
  CASE WHEN MAX(per.history_start_key) IS NOT NULL
    AND CAST(FLOOR(MAX(per.history_start_key) / 100) AS INT64) <= CAST(FLOOR(MAX(per.first_day_key) / 100) AS INT64) THEN 1 ELSE 0 END,
  MAX(per.data_as_of), CAST(CURRENT_TIMESTAMP AS TIMESTAMP), MAX(tt.team_type)
FROM consultation c
JOIN period per ON per.municipality_ibge = c.municipality_ibge AND c.day_key BETWEEN per.first_day_key AND per.last_day_key
LEFT JOIN team_type_period tt ON tt.municipality_ibge = c.municipality_ibge AND tt.y = per.y AND tt.q = per.q AND tt.team_id = c.team_id
LEFT JOIN ${names.teams} tn ON tn.municipality_ibge = c.municipality_ibge AND tn.team_ine = c.team_ine
LEFT JOIN ${names.municipalities} mu ON mu.municipality_ibge = c.municipality_ibge
WHERE ${frozenClause(dialect, target, 'c.municipality_ibge', 'per.quadrimestre')}
  -- eSF and eAP teams only (the note), by the type in force on the quadrimestre's last day; a team whose type the
  -- PEC does not give counts (docs/indicators/common.md).
  AND (tt.team_type IS NULL OR tt.team_type IN (${list([TEAM_TYPE.esf, TEAM_TYPE.eap])}))
GROUP BY c.municipality_ibge, c.team_ine, per.quadrimestre, per.quadrimestre_start, per.quadrimestre_end`,
  );
}
