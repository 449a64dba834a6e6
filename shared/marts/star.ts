import type { OwnedColumn, OwnedTable } from '../ledger/table-schema';
import { HONESTY_COLUMNS, frozenClause, refreshInScope, refreshUnfrozen } from './honest-periods';
import { inRefreshScope } from './refresh-scope';
import { DIABETES, HYPERTENSION, followUpRefreshStatements } from './follow-up';
import { TEAM_TYPE, commonCtes, namesFrom, teamTypeCte } from './indicator-sql';
import { INDICATORS, MAX_GOOD_PRACTICES, evaluatedWith, type Indicator } from './indicators';
import { asFloat, dayKeyDate, sqlLiteral, tableRef, type SqlDialect } from './sql-dialect';

/**
 * The star schema Power BI reads (docs/powerbi.md has the diagram):
 *
 * - fact `indicator_person_period`: one row per indicator, municipality, quadrimestre and person of
 *   the denominator, with the good-practice flags — on the pseudonymous `person_key` only;
 * - aggregates `indicator_team_period` and `indicator_municipality_period` (what most visuals need,
 *   without scanning the fact);
 * - dimensions `dim_team`, `dim_period`, `dim_indicator`;
 * - `nominal_list`: per team, the people still missing a good practice in an open period.
 *
 * Every table has `municipality_ibge`, so the same row access policies apply to all of them
 * (row-access.ts). Keys Power BI relates on are single columns prefixed with the municipality
 * (`team_key`, `period_key`, `indicator_key`): surrogate codes are only unique per municipality,
 * and a one-column key is what a Power BI relationship needs.
 */
export interface StarTable {
  table: OwnedTable;
  refreshStatements(dialect: SqlDialect): string[];
  /**
   * Set on a table rebuilt inside another mart's transaction (from its rows): its own refresh is
   * empty. The aggregates and lists are derived from the fact in the fact's transaction, so they
   * can never disagree with it, whatever order or concurrency the workflow refreshes marts in.
   */
  refreshedWith?: string;
}

const col = (name: string, type: OwnedColumn['type'], description: string, required = true): OwnedColumn => ({ name, type, required, description });

const MUNICIPALITY = col('municipality_ibge', 'string', 'IBGE code (7 digits); the row access policies filter on it');
const QUADRIMESTRE = col('quadrimestre', 'string', "Evaluation period, e.g. '2026Q2' (Q1 Jan–Apr, Q2 May–Aug, Q3 Sep–Dec)");
const QUADRIMESTRE_START = col('quadrimestre_start', 'date', 'First day of the quadrimestre (partition column; sort by it)');
const QUADRIMESTRE_END = col('quadrimestre_end', 'date', 'Last day of the quadrimestre: the indicator is evaluated as of this day');
const TEAM_KEY = col('team_key', 'string', "'<municipality_ibge>:<team_ine>': relates to dim_team");
const TEAM_INE = col('team_ine', 'string', "INE of the person's team; '-' when the PEC binds them to no team");
const PERIOD_KEY = col('period_key', 'string', "'<municipality_ibge>:<quadrimestre>': relates to dim_period");
const INDICATOR_ID = col('indicator_id', 'string', 'Indicator (dim_indicator; docs/indicators/)');
const INDICATOR_KEY = col('indicator_key', 'string', "'<municipality_ibge>:<indicator_id>': relates to dim_indicator");
const HONESTY = HONESTY_COLUMNS.map((c) => ({ ...c, required: true }));
/** The team's type per period (fact, team aggregate); dim_team keeps the current one. NULL on rows frozen before it existed. */
const PERIOD_TEAM_TYPE = col(
  'team_type',
  'string',
  "Ministry of Health code of the team's type in force on the quadrimestre's last day (transactional ta_equipe, else the current tb_equipe type; docs/indicators/common.md): '70' eSF, '76' eAP, …; NULL when the PEC does not say",
  false,
);
const REFRESHED = col('refreshed_at', 'timestamp', 'When the row was computed (UTC); a frozen row keeps the time it was frozen');
/** gp_1<suffix> … gp_11<suffix>, nullable: an indicator has up to MAX_GOOD_PRACTICES practices. */
const gpCols = (suffix: string, type: OwnedColumn['type'], describe: (n: number) => string) =>
  Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) => col(`gp_${k + 1}${suffix}`, type, describe(k + 1), false));

/** `CASE indicator_id WHEN … THEN <value> END` over the definitions. */
function byIndicator(expr: string, value: (i: Indicator) => string): string {
  return `CASE ${expr} ${INDICATORS.map((i) => `WHEN ${sqlLiteral(i.id)} THEN ${value(i)}`).join(' ')} END`;
}

/** A text constant the project defines (names, notes) as a literal both engines read the same way. */
export function textLiteral(s: string): string {
  if (/['\\;\n\r]|--/.test(s)) throw new Error(`refusing to inline ${JSON.stringify(s)} into SQL`);
  return `'${s}'`;
}

const targetSql = (i: Indicator) => (i.target === null ? 'CAST(NULL AS INT64)' : String(i.target));

function insertEvaluated(dialect: SqlDialect, target: string, columns: string[], select: string): string {
  return `INSERT INTO ${target} (${columns.join(', ')})
${evaluatedWith(dialect, INDICATORS)}
${select}`;
}

// ---------------------------------------------------------------------------------------------

const factTable: OwnedTable = {
  dataset: 'marts',
  name: 'indicator_person_period',
  description: 'Fact: one row per indicator, municipality, quadrimestre and person of the denominator, with the good-practice flags (pseudonymous key only)',
  timePartitioning: { type: 'MONTH', field: 'quadrimestre_start' },
  clustering: ['municipality_ibge', 'indicator_id', 'team_ine'],
  columns: [
    MUNICIPALITY,
    QUADRIMESTRE,
    QUADRIMESTRE_START,
    QUADRIMESTRE_END,
    col('window_start', 'date', "First day of the indicator's look-back window (6, 12, 16, 36 or 60 months ending with the quadrimestre)"),
    col('window_end', 'date', 'Day after the window (exclusive): the day after the quadrimestre'),
    INDICATOR_ID,
    INDICATOR_KEY,
    PERIOD_KEY,
    TEAM_KEY,
    TEAM_INE,
    col('person_key', 'string', "Pseudonymous person: 'cpf:<HMAC>', 'cns:<HMAC>' or 'pec:<ibge>:<record id>' (docs/indicators/common.md); never clear text"),
    ...gpCols(
      '',
      'int',
      (n) =>
        `1 when good practice ${n} of the indicator is met (dim_indicator.gp_${n}_name); NULL beyond the indicator's practices, or when the practice does not apply to the person (C7: by age)`,
    ),
    col('in_numerator', 'int', '1 when the person counts in the numerator (every good practice that applies to them met)'),
    col('score', 'float', 'Sum of the scores of the practices met (0–100), for indicators scored per person (C2–C6); NULL otherwise (C7 is scored per team)', false),
    ...HONESTY,
    REFRESHED,
    // Last: a column added to a table an older version created is appended (docs/marts.md).
    PERIOD_TEAM_TYPE,
  ],
};

const GP_FACT = Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) => `e.gp_${k + 1}`);

const fact: StarTable = {
  table: factTable,
  refreshStatements(dialect) {
    const target = tableRef(dialect, 'marts', factTable.name);
    const raw = (t: string) => tableRef(dialect, 'raw', t);
    const select = `
SELECT
  e.municipality_ibge, per.quadrimestre, per.quadrimestre_start, per.quadrimestre_end,
  ${dayKeyDate(byIndicator('e.indicator_id', (i) => `per.${i.lookback}`))}, ${dayKeyDate('per.end_key')},
  e.indicator_id, e.municipality_ibge || ':' || e.indicator_id,
  e.municipality_ibge || ':' || per.quadrimestre,
  e.municipality_ibge || ':' || COALESCE(t.nu_ine, '-'),
  COALESCE(t.nu_ine, '-'),
  e.person_key, ${GP_FACT.join(', ')}, e.in_numerator, e.score,
  per.period_closed, e.history_complete, per.data_as_of, CAST(CURRENT_TIMESTAMP AS TIMESTAMP), e.team_type
FROM evaluated e
JOIN period per ON per.municipality_ibge = e.municipality_ibge AND per.y = e.y AND per.q = e.q
LEFT JOIN ${raw('tb_dim_equipe')} t ON t._municipality_ibge = e.municipality_ibge AND t.co_seq_dim_equipe = e.team_id
WHERE ${frozenClause(dialect, target, 'e.municipality_ibge', 'per.quadrimestre', 'e.indicator_id')}`;
    return [
      ...refreshUnfrozen(
        dialect,
        target,
        insertEvaluated(
          dialect,
          target,
          factTable.columns.map((c) => c.name),
          select,
        ),
      ),
      // Then, in the same transaction, everything derived from the fact.
      ...derivedFromFact.flatMap((d) => d(dialect)),
    ];
  },
};

/** Refreshes run in the fact's transaction, after it; registered below and by follow-up.ts. */
const derivedFromFact: ((dialect: SqlDialect) => string[])[] = [];
export function deriveFromFact(statements: (dialect: SqlDialect) => string[]): void {
  derivedFromFact.push(statements);
}

// ---------------------------------------------------------------------------------------------

const AGGREGATE_MEASURES: OwnedColumn[] = [
  col('denominator', 'int', 'People in the denominator (identified; docs/indicators/common.md)'),
  col('numerator', 'int', 'Of them, people meeting every good practice'),
  col('rate', 'float', 'numerator / denominator, 4 decimals'),
  col(
    'score_mean',
    'float',
    "The indicator's score (0–100, 2 decimals): the mean person score (C2–C6), or Σ practice points × gp_<n>_met / gp_<n>_eligible over the practices with people (C7); NULL for unscored indicators",
    false,
  ),
  ...gpCols('_met', 'int', (n) => `People meeting good practice ${n}; NULL beyond the indicator's practices`),
  ...gpCols(
    '_eligible',
    'int',
    (n) => `People good practice ${n} applies to (its denominator: C7 has one per practice, by age); NULL beyond the indicator's practices or when nobody`,
  ),
  col('target', 'float', "The indicator's target proportion (dim_indicator.target); NULL when it has none", false),
  col('below_target', 'int', '1 when rate < target; NULL when the indicator has no target', false),
];

/**
 * C7's score (docs/indicators/cytology.md): Σ points × met / eligible over its practices. A practice
 * nobody of the team is eligible for (say, no girl of 9–14) leaves the sum, and the others are scaled
 * to 100 (the note does not say; see the page).
 */
function proportionsScore(dialect: SqlDialect, i: Indicator): string {
  const present = (g: { n: number }) => `COUNT(f.gp_${g.n}) > 0`;
  const points = i.goodPractices.map((g) => `CASE WHEN ${present(g)} THEN ${g.score} * SUM(f.gp_${g.n}) / COUNT(f.gp_${g.n}) ELSE 0 END`).join(' + ');
  const weights = i.goodPractices.map((g) => `CASE WHEN ${present(g)} THEN ${g.score} ELSE 0 END`).join(' + ');
  return `ROUND(${asFloat(dialect, `(${points})`)} * 100 / NULLIF(${weights}, 0), 2)`;
}

/** The aggregate's rows, from the fact rows just written (same transaction). */
function aggregateInsert(dialect: SqlDialect, table: OwnedTable, byTeam: boolean): string {
  const target = tableRef(dialect, 'marts', table.name);
  const fact = tableRef(dialect, 'marts', factTable.name);
  const names = namesFrom(dialect);
  const rate = 'ROUND(SUM(f.in_numerator) / COUNT(*), 4)';
  const target_ = byIndicator('f.indicator_id', targetSql);
  const score = byIndicator('f.indicator_id', (i) => (i.scoring === 'practiceProportions' ? proportionsScore(dialect, i) : 'ROUND(AVG(f.score), 2)'));
  return `INSERT INTO ${target} (${table.columns.map((c) => c.name).join(', ')})
SELECT
  f.municipality_ibge, MAX(mu.municipality_name), ${byTeam ? 'f.team_key, f.team_ine, MAX(t.team_name),' : ''}
  f.indicator_id, f.indicator_key, f.period_key, f.quadrimestre, f.quadrimestre_start, f.quadrimestre_end,
  COUNT(*), SUM(f.in_numerator), ${rate}, ${score},
  ${Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) => `SUM(f.gp_${k + 1})`).join(', ')},
  ${Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) => `NULLIF(COUNT(f.gp_${k + 1}), 0)`).join(', ')},
  ${asFloat(dialect, target_)},
  CASE WHEN ${target_} IS NULL THEN NULL WHEN ${rate} < ${target_} THEN 1 ELSE 0 END,
  MAX(f.period_closed), MIN(f.history_complete), MAX(f.data_as_of), CAST(CURRENT_TIMESTAMP AS TIMESTAMP)${byTeam ? ', MAX(f.team_type)' : ''}
FROM ${fact} f
LEFT JOIN ${names.teams} t ON t.municipality_ibge = f.municipality_ibge AND t.team_ine = f.team_ine
LEFT JOIN ${names.municipalities} mu ON mu.municipality_ibge = f.municipality_ibge
WHERE ${frozenClause(dialect, target, 'f.municipality_ibge', 'f.quadrimestre', 'f.indicator_id')}${
    // The official figure counts people bound to a team only.
    byTeam ? '' : "\n  AND f.team_ine <> '-'"
  }
GROUP BY f.municipality_ibge, ${byTeam ? 'f.team_key, f.team_ine, ' : ''}f.indicator_id, f.indicator_key, f.period_key, f.quadrimestre, f.quadrimestre_start, f.quadrimestre_end`;
}

function aggregate(name: string, byTeam: boolean): StarTable {
  const table: OwnedTable = {
    dataset: 'marts',
    name,
    description: byTeam
      ? 'Indicators per municipality, team and quadrimestre (people without a team under team_ine = -)'
      : 'Indicators per municipality and quadrimestre, people bound to a team only (the official figure)',
    timePartitioning: { type: 'MONTH', field: 'quadrimestre_start' },
    clustering: byTeam ? ['municipality_ibge', 'indicator_id', 'team_ine'] : ['municipality_ibge', 'indicator_id'],
    columns: [
      MUNICIPALITY,
      col('municipality_name', 'string', 'Municipality name as the PEC names it (tb_dim_municipio)', false),
      ...(byTeam ? [TEAM_KEY, TEAM_INE, col('team_name', 'string', 'Team name (tb_dim_equipe)', false)] : []),
      INDICATOR_ID,
      INDICATOR_KEY,
      PERIOD_KEY,
      QUADRIMESTRE,
      QUADRIMESTRE_START,
      QUADRIMESTRE_END,
      ...AGGREGATE_MEASURES,
      ...HONESTY,
      REFRESHED,
      ...(byTeam ? [PERIOD_TEAM_TYPE] : []),
    ],
  };
  return {
    table,
    refreshedWith: factTable.name,
    refreshStatements: () => [],
  };
}

const teamAggregate = aggregate('indicator_team_period', true);
const municipalityAggregate = aggregate('indicator_municipality_period', false);

// ---------------------------------------------------------------------------------------------

const dimTeamTable: OwnedTable = {
  dataset: 'marts',
  name: 'dim_team',
  description: 'Dimension: the teams of each municipality (tb_dim_equipe), plus "-" for people bound to no team',
  clustering: ['municipality_ibge'],
  columns: [
    MUNICIPALITY,
    TEAM_KEY,
    TEAM_INE,
    col('team_name', 'string', 'Team name (tb_dim_equipe)', false),
    col(
      'team_type',
      'string',
      "Ministry of Health code of the team's type (transactional tb_equipe → tb_tipo_equipe.nu_ms): '70' eSF, '76' eAP, …; NULL when the PEC does not say",
      false,
    ),
    col(
      'esf_eap',
      'int',
      '1: an eSF or eAP team, whose people the 2024-model indicators count; 0: another type, left out of them; NULL: type unknown, counted (docs/indicators/common.md)',
      false,
    ),
    REFRESHED,
  ],
};

const dimTeam: StarTable = {
  table: dimTeamTable,
  refreshStatements(dialect) {
    const target = tableRef(dialect, 'marts', dimTeamTable.name);
    const raw = (t: string) => tableRef(dialect, 'raw', t);
    return refreshInScope(
      dialect,
      target,
      `INSERT INTO ${target} (${dimTeamTable.columns.map((c) => c.name).join(', ')})
WITH ${teamTypeCte(dialect)}
SELECT teams.municipality_ibge, teams.municipality_ibge || ':' || teams.team_ine, teams.team_ine, MAX(teams.team_name), MAX(tt.team_type),
  CASE WHEN MAX(tt.team_type) IS NULL THEN NULL WHEN MAX(tt.team_type) IN (${sqlLiteral(TEAM_TYPE.esf)}, ${sqlLiteral(TEAM_TYPE.eap)}) THEN 1 ELSE 0 END,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP)
FROM (
  SELECT _municipality_ibge AS municipality_ibge, co_seq_dim_equipe AS team_id, COALESCE(NULLIF(nu_ine, ''), '-') AS team_ine, no_equipe AS team_name
  FROM ${raw('tb_dim_equipe')}
  UNION ALL
  SELECT DISTINCT _municipality_ibge, CAST(NULL AS INT64), '-', CAST(NULL AS STRING) FROM ${raw('tb_fat_atendimento_individual')}
) teams
LEFT JOIN team_type tt ON tt.municipality_ibge = teams.municipality_ibge AND tt.team_id = teams.team_id
WHERE ${inRefreshScope(dialect, 'teams.municipality_ibge')}
GROUP BY teams.municipality_ibge, teams.team_ine`,
    );
  },
};

const dimPeriodTable: OwnedTable = {
  dataset: 'marts',
  name: 'dim_period',
  description: 'Dimension: the quadrimestres of each municipality, whether each is closed, and what the loaded history covers',
  clustering: ['municipality_ibge'],
  columns: [
    MUNICIPALITY,
    PERIOD_KEY,
    QUADRIMESTRE,
    QUADRIMESTRE_START,
    QUADRIMESTRE_END,
    { ...HONESTY_COLUMNS[0]!, required: true },
    col('history_start', 'date', "First day with a consultation in the municipality's loaded history", false),
    { ...HONESTY_COLUMNS[2]!, required: true },
    REFRESHED,
  ],
};

const dimPeriod: StarTable = {
  table: dimPeriodTable,
  refreshStatements(dialect) {
    const target = tableRef(dialect, 'marts', dimPeriodTable.name);
    // commonCtes' periods are those of the refresh's municipalities only.
    return refreshInScope(
      dialect,
      target,
      `INSERT INTO ${target} (${dimPeriodTable.columns.map((c) => c.name).join(', ')})
WITH ${commonCtes(dialect)}
SELECT municipality_ibge, municipality_ibge || ':' || quadrimestre, quadrimestre, quadrimestre_start, quadrimestre_end,
  period_closed, ${dayKeyDate('history_start_key')}, data_as_of, CAST(CURRENT_TIMESTAMP AS TIMESTAMP)
FROM period`,
    );
  },
};

const dimIndicatorTable: OwnedTable = {
  dataset: 'marts',
  name: 'dim_indicator',
  description: 'Dimension: the indicators (one row per municipality, so row access applies like everywhere) and their good practices',
  clustering: ['municipality_ibge'],
  columns: [
    MUNICIPALITY,
    INDICATOR_KEY,
    INDICATOR_ID,
    col('indicator_name', 'string', 'What the indicator measures'),
    col('program', 'string', 'Previne Brasil (2019–2024) or the 2024 co-financing model (Portaria GM/MS 3.493/2024)'),
    col('official_note', 'string', 'The technical note the definition follows'),
    col('doc', 'string', 'The page of docs/indicators/ with the full definition'),
    col('target', 'float', 'Target proportion of the denominator in the numerator; NULL when none is set', false),
    ...gpCols('_name', 'string', (n) => `Good practice ${n} (fact column gp_${n})`),
    ...Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) =>
      col(`gp_${k + 1}_score`, 'float', `Points of good practice ${k + 1} in the 0–100 score; NULL for unscored indicators`, false),
    ),
    REFRESHED,
  ],
};

const dimIndicator: StarTable = {
  table: dimIndicatorTable,
  refreshStatements(dialect) {
    const target = tableRef(dialect, 'marts', dimIndicatorTable.name);
    const rows = INDICATORS.map((i) => {
      const gp = (n: number) => i.goodPractices.find((g) => g.n === n);
      const names = Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) => (gp(k + 1) ? textLiteral(gp(k + 1)!.description) : 'CAST(NULL AS STRING)'));
      const scores = Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) => asFloat(dialect, String(gp(k + 1)?.score ?? 'NULL')));
      return `SELECT ${textLiteral(i.id)} AS indicator_id, ${textLiteral(i.name)} AS indicator_name, ${textLiteral(i.program)} AS program,
    ${textLiteral(i.officialNote)} AS official_note, ${textLiteral(`docs/indicators/${i.doc}`)} AS doc, ${asFloat(dialect, i.target === null ? 'NULL' : String(i.target))} AS target,
    ${names.map((x, k) => `${x} AS n${k + 1}`).join(', ')}, ${scores.map((x, k) => `${x} AS s${k + 1}`).join(', ')}`;
    });
    const n = Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) => `i.n${k + 1}`);
    const s = Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) => `i.s${k + 1}`);
    return refreshInScope(
      dialect,
      target,
      `INSERT INTO ${target} (${dimIndicatorTable.columns.map((c) => c.name).join(', ')})
SELECT m.municipality_ibge, m.municipality_ibge || ':' || i.indicator_id, i.indicator_id, i.indicator_name, i.program, i.official_note, i.doc, i.target,
  ${n.join(', ')}, ${s.join(', ')}, CAST(CURRENT_TIMESTAMP AS TIMESTAMP)
FROM (SELECT DISTINCT _municipality_ibge AS municipality_ibge FROM ${tableRef(dialect, 'raw', 'tb_fat_atendimento_individual')}) m
CROSS JOIN (
  ${rows.join('\n  UNION ALL\n  ')}
) i
WHERE ${inRefreshScope(dialect, 'm.municipality_ibge')}`,
    );
  },
};

// ---------------------------------------------------------------------------------------------

const nominalTable: OwnedTable = {
  dataset: 'marts',
  name: 'nominal_list',
  description: 'Per team, the people of an open period still missing a good practice, by pseudonym only (the municipality re-identifies them)',
  clustering: ['municipality_ibge', 'team_ine', 'indicator_id'],
  columns: [
    MUNICIPALITY,
    TEAM_KEY,
    TEAM_INE,
    PERIOD_KEY,
    QUADRIMESTRE,
    INDICATOR_ID,
    INDICATOR_KEY,
    col('person_key', 'string', 'Pseudonymous person (as in indicator_person_period); never clear text'),
    col('missing_practices', 'string', "Numbers of the good practices not met, e.g. '2,4' (dim_indicator.gp_<n>_name)"),
    col('missing_count', 'int', 'How many good practices are missing'),
    col('score', 'float', 'Current score (0–100) for scored indicators; NULL otherwise', false),
    { ...HONESTY_COLUMNS[2]!, required: true },
    REFRESHED,
  ],
};

/** The nominal list's rows, from the fact rows just written: open periods only, rebuilt whole for the refresh's municipalities. */
function nominalListStatements(dialect: SqlDialect): string[] {
  const target = tableRef(dialect, 'marts', nominalTable.name);
  const fact = tableRef(dialect, 'marts', factTable.name);
  const missing = Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) => `CASE WHEN f.gp_${k + 1} = 0 THEN ',${k + 1}' ELSE '' END`).join(' || ');
  const count = Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) => `CASE WHEN f.gp_${k + 1} = 0 THEN 1 ELSE 0 END`).join(' + ');
  return refreshInScope(
    dialect,
    target,
    `INSERT INTO ${target} (${nominalTable.columns.map((c) => c.name).join(', ')})
SELECT f.municipality_ibge, f.team_key, f.team_ine, f.period_key, f.quadrimestre, f.indicator_id, f.indicator_key,
  f.person_key, SUBSTR(${missing}, 2), ${count}, f.score, f.data_as_of, CAST(CURRENT_TIMESTAMP AS TIMESTAMP)
FROM ${fact} f
WHERE ${inRefreshScope(dialect, 'f.municipality_ibge')} AND f.period_closed = 0 AND (${count}) > 0`,
  );
}

const nominalList: StarTable = { table: nominalTable, refreshedWith: factTable.name, refreshStatements: () => [] };

for (const t of [teamAggregate, municipalityAggregate])
  deriveFromFact((dialect) => refreshUnfrozen(dialect, tableRef(dialect, 'marts', t.table.name), aggregateInsert(dialect, t.table, t.table.name === 'indicator_team_period')));
deriveFromFact(nominalListStatements);
for (const spec of [HYPERTENSION, DIABETES]) deriveFromFact((dialect) => followUpRefreshStatements(spec, dialect, factTable.name));

export const FACT_TABLE = factTable.name;

/** The star schema's tables. Dimensions refresh on their own; the rest in the fact's transaction. */
export const STAR_TABLES: readonly StarTable[] = [dimIndicator, dimTeam, dimPeriod, fact, teamAggregate, municipalityAggregate, nominalList];
