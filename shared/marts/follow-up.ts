import type { OwnedTable } from '../ledger/table-schema';
import { sqlLiteral, tableRef, type SqlDialect } from './sql-dialect';

/**
 * Chronic-condition follow-up marts (hypertension, diabetes) per municipality, team and
 * quadrimestre, the way the primary-care indicators define them:
 *
 * - **denominator**: people with the condition as of the quadrimestre's last day — a diagnosis
 *   (CID or CIAP) recorded in any consultation up to then, or the condition self-declared in the
 *   latest version of their individual registration up to then. Deceased people are left out.
 * - **numerator**: those of them with, in the 6 calendar months ending with the quadrimestre's last
 *   month, at least one individual consultation **and** the follow-up procedure (blood-pressure
 *   measurement for hypertension, HbA1c request for diabetes). The two may be on different days.
 *
 * People are counted once per municipality on a pseudonymous key: the CPF pseudonym, else the CNS
 * pseudonym, else the PEC citizen record `(municipality, co_seq_fat_cidadao_pec)`. Every join is on
 * (municipality, key): `co_seq_*` surrogate keys are local to an installation, and dimension tables
 * are landed once per municipality. A person belongs to the team of their newest PEC citizen record
 * that names one (tb_fat_cidadao_pec.co_dim_equipe_vinc: the PEC's own team binding).
 */
export interface FollowUpSpec {
  name: 'hypertension_follow_up' | 'diabetes_follow_up';
  title: string;
  /** CID-10 three-character categories (I10 covers I10, I109 …). */
  cidCategories: readonly string[];
  ciapCodes: readonly string[];
  /** tb_fat_cad_individual flag of the self-declared condition. */
  selfDeclaredFlag: 'st_hipertensao_arterial' | 'st_diabete';
  followUp: 'blood_pressure_measured' | 'hba1c_requested';
}

/** SIGTAP and AB codes of the follow-up procedures. */
export const PROCEDURE_CODES = {
  bloodPressure: ['0301100039', 'ABPG033'],
  hba1c: ['0202010503', 'ABEX008'],
} as const;

export const HYPERTENSION: FollowUpSpec = {
  name: 'hypertension_follow_up',
  title: 'Hypertension: consultation and blood-pressure measurement in the last 6 months',
  cidCategories: ['I10', 'I11', 'I12', 'I13', 'I15'],
  ciapCodes: ['K86', 'K87'],
  selfDeclaredFlag: 'st_hipertensao_arterial',
  followUp: 'blood_pressure_measured',
};

export const DIABETES: FollowUpSpec = {
  name: 'diabetes_follow_up',
  title: 'Diabetes: consultation and HbA1c request in the last 6 months',
  cidCategories: ['E10', 'E11', 'E12', 'E13', 'E14'],
  ciapCodes: ['T89', 'T90'],
  selfDeclaredFlag: 'st_diabete',
  followUp: 'hba1c_requested',
};

/** Columns of every follow-up mart (one definition: DuckDB DDL, BigQuery schema, docs/marts.md). */
export function followUpTable(spec: FollowUpSpec): OwnedTable {
  return {
    dataset: 'marts',
    name: spec.name,
    description: `${spec.title}; one row per municipality, team and quadrimestre (rebuilt on every run)`,
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
      { name: 'denominator', type: 'int', required: true, description: 'People with the condition (see docs/marts.md)' },
      { name: 'numerator', type: 'int', required: true, description: 'People with the condition followed up in the window' },
      { name: 'rate', type: 'float', required: true, description: 'numerator / denominator, 4 decimals' },
      { name: 'refreshed_at', type: 'timestamp', required: true, description: 'When the mart was rebuilt (UTC)' },
    ],
  };
}

const list = (xs: readonly string[]) => xs.map(sqlLiteral).join(', ');

/**
 * The refresh of one follow-up mart as statements to run in one transaction: delete every row and
 * insert the recomputed ones. DELETE + INSERT (not CREATE OR REPLACE) keeps the table, and with it
 * BigQuery's row access policies and Power BI's connection.
 */
export function followUpRefreshStatements(spec: FollowUpSpec, dialect: SqlDialect): string[] {
  const raw = (t: string) => tableRef(dialect, 'raw', t);
  const target = tableRef(dialect, 'marts', spec.name);
  const columns = followUpTable(spec).columns.map((c) => c.name);

  const followUpEvents =
    spec.followUp === 'blood_pressure_measured'
      ? `
  -- Blood pressure measured: the procedure performed, or a pressure recorded in a consultation.
  SELECT f._municipality_ibge AS municipality_ibge, f.co_fat_cidadao_pec AS citizen_id, f.co_dim_tempo AS day_key
  FROM ${raw('tb_fat_proced_atend_proced')} f
  JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge AND pr.co_seq_dim_procedimento = f.co_dim_procedimento
  WHERE pr.co_proced IN (${list(PROCEDURE_CODES.bloodPressure)})
  UNION ALL
  SELECT _municipality_ibge, co_fat_cidadao_pec, co_dim_tempo
  FROM ${raw('tb_fat_atendimento_individual')}
  WHERE nu_pressao_sistolica IS NOT NULL`
      : `
  -- HbA1c requested in a consultation.
  SELECT f._municipality_ibge AS municipality_ibge, f.co_fat_cidadao_pec AS citizen_id, f.co_dim_tempo AS day_key
  FROM ${raw('tb_fat_atd_ind_procedimentos')} f
  JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge AND pr.co_seq_dim_procedimento = f.co_dim_procedimento_solicitado
  WHERE pr.co_proced IN (${list(PROCEDURE_CODES.hba1c)})`;

  const insert = `INSERT INTO ${target} (${columns.join(', ')})
WITH
citizen AS (
  -- Each PEC citizen record and the pseudonymous person it belongs to.
  SELECT
    _municipality_ibge AS municipality_ibge,
    co_seq_fat_cidadao_pec AS citizen_id,
    COALESCE('cpf:' || NULLIF(nu_cpf_cidadao, ''), 'cns:' || NULLIF(nu_cns, ''),
             'pec:' || _municipality_ibge || ':' || CAST(co_seq_fat_cidadao_pec AS STRING)) AS person_key,
    co_dim_equipe_vinc AS team_id,
    st_faleceu
  FROM ${raw('tb_fat_cidadao_pec')}
),
person AS (
  -- One row per (municipality, person): team of the newest record naming one (id 1 is the sentinel).
  SELECT municipality_ibge, person_key, team_id, deceased
  FROM (
    SELECT
      municipality_ibge, person_key, team_id,
      MAX(CASE WHEN st_faleceu = 1 THEN 1 ELSE 0 END) OVER (PARTITION BY municipality_ibge, person_key) AS deceased,
      ROW_NUMBER() OVER (
        PARTITION BY municipality_ibge, person_key
        ORDER BY CASE WHEN team_id IS NULL OR team_id = 1 THEN 1 ELSE 0 END, citizen_id DESC) AS rn
    FROM citizen
  ) ranked
  WHERE rn = 1
),
municipality AS (
  SELECT _municipality_ibge AS municipality_ibge, MAX(no_municipio) AS municipality_name
  FROM ${raw('tb_dim_municipio')}
  WHERE co_ibge = _municipality_ibge OR co_ibge = SUBSTR(_municipality_ibge, 1, 6)
  GROUP BY 1
),
consultation_month AS (
  SELECT DISTINCT
    _municipality_ibge AS municipality_ibge,
    CAST(FLOOR(co_dim_tempo / 10000) AS INT64) AS y,
    MOD(CAST(FLOOR(co_dim_tempo / 100) AS INT64), 100) AS m
  FROM ${raw('tb_fat_atendimento_individual')}
  WHERE co_dim_tempo >= 19000101 AND co_dim_tempo < 30000101 -- 30001231 means "unknown date"
),
quadrimestre AS (
  -- Every quadrimestre with consultations in the warehouse, and its 6-month window as yyyymmdd keys.
  SELECT DISTINCT municipality_ibge, y, CAST(FLOOR((m - 1) / 4) AS INT64) + 1 AS q
  FROM consultation_month
),
period AS (
  SELECT
    municipality_ibge, y, q,
    CAST(y AS STRING) || 'Q' || CAST(q AS STRING) AS quadrimestre,
    CAST(CAST(y AS STRING) || CASE q WHEN 1 THEN '-01-01' WHEN 2 THEN '-05-01' ELSE '-09-01' END AS DATE) AS quadrimestre_start,
    CAST(CAST(y AS STRING) || CASE q WHEN 1 THEN '-04-30' WHEN 2 THEN '-08-31' ELSE '-12-31' END AS DATE) AS quadrimestre_end,
    CASE q WHEN 1 THEN CAST(CAST(y - 1 AS STRING) || '-11-01' AS DATE)
           WHEN 2 THEN CAST(CAST(y AS STRING) || '-03-01' AS DATE)
           ELSE CAST(CAST(y AS STRING) || '-07-01' AS DATE) END AS window_start,
    CASE q WHEN 1 THEN CAST(CAST(y AS STRING) || '-05-01' AS DATE)
           WHEN 2 THEN CAST(CAST(y AS STRING) || '-09-01' AS DATE)
           ELSE CAST(CAST(y + 1 AS STRING) || '-01-01' AS DATE) END AS window_end,
    CASE q WHEN 1 THEN (y - 1) * 10000 + 1101 WHEN 2 THEN y * 10000 + 301 ELSE y * 10000 + 701 END AS window_start_key,
    CASE q WHEN 1 THEN y * 10000 + 501 WHEN 2 THEN y * 10000 + 901 ELSE (y + 1) * 10000 + 101 END AS window_end_key
  FROM quadrimestre
),
diagnosis AS (
  -- First consultation problem (CID or CIAP) naming the condition, per citizen record.
  SELECT p._municipality_ibge AS municipality_ibge, p.co_fat_cidadao_pec AS citizen_id, MIN(p.co_dim_tempo) AS first_key
  FROM ${raw('tb_fat_atd_ind_problemas')} p
  LEFT JOIN ${raw('tb_dim_cid')} cid ON cid._municipality_ibge = p._municipality_ibge AND cid.co_seq_dim_cid = p.co_dim_cid
  LEFT JOIN ${raw('tb_dim_ciap')} ciap ON ciap._municipality_ibge = p._municipality_ibge AND ciap.co_seq_dim_ciap = p.co_dim_ciap
  WHERE SUBSTR(cid.nu_cid, 1, 3) IN (${list(spec.cidCategories)}) OR ciap.nu_ciap IN (${list(spec.ciapCodes)})
  GROUP BY 1, 2
),
registration AS (
  -- Latest registration version of each citizen record as of each period's end (registrations are versioned).
  SELECT
    per.municipality_ibge, per.y, per.q, r.co_fat_cidadao_pec AS citizen_id, r.${spec.selfDeclaredFlag} AS flag,
    ROW_NUMBER() OVER (
      PARTITION BY per.municipality_ibge, per.y, per.q, r.co_fat_cidadao_pec
      ORDER BY r.co_dim_tempo DESC, r.co_seq_fat_cad_individual DESC) AS rn
  FROM period per
  JOIN ${raw('tb_fat_cad_individual')} r ON r._municipality_ibge = per.municipality_ibge AND r.co_dim_tempo < per.window_end_key
),
with_condition AS (
  SELECT per.municipality_ibge, per.y, per.q, c.person_key
  FROM period per
  JOIN diagnosis d ON d.municipality_ibge = per.municipality_ibge AND d.first_key < per.window_end_key
  JOIN citizen c ON c.municipality_ibge = d.municipality_ibge AND c.citizen_id = d.citizen_id
  UNION DISTINCT
  SELECT r.municipality_ibge, r.y, r.q, c.person_key
  FROM registration r
  JOIN citizen c ON c.municipality_ibge = r.municipality_ibge AND c.citizen_id = r.citizen_id
  WHERE r.rn = 1 AND r.flag = 1
),
consulted AS (
  SELECT DISTINCT per.municipality_ibge, per.y, per.q, c.person_key
  FROM period per
  JOIN ${raw('tb_fat_atendimento_individual')} a
    ON a._municipality_ibge = per.municipality_ibge AND a.co_dim_tempo >= per.window_start_key AND a.co_dim_tempo < per.window_end_key
  JOIN citizen c ON c.municipality_ibge = a._municipality_ibge AND c.citizen_id = a.co_fat_cidadao_pec
),
follow_up_event AS (${followUpEvents}
),
followed_up AS (
  SELECT DISTINCT per.municipality_ibge, per.y, per.q, c.person_key
  FROM period per
  JOIN follow_up_event e
    ON e.municipality_ibge = per.municipality_ibge AND e.day_key >= per.window_start_key AND e.day_key < per.window_end_key
  JOIN citizen c ON c.municipality_ibge = e.municipality_ibge AND c.citizen_id = e.citizen_id
),
evaluated AS (
  SELECT
    w.municipality_ibge, w.y, w.q, w.person_key, p.team_id,
    CASE WHEN k.person_key IS NOT NULL AND f.person_key IS NOT NULL THEN 1 ELSE 0 END AS followed
  FROM with_condition w
  JOIN person p ON p.municipality_ibge = w.municipality_ibge AND p.person_key = w.person_key
  LEFT JOIN consulted k ON k.municipality_ibge = w.municipality_ibge AND k.y = w.y AND k.q = w.q AND k.person_key = w.person_key
  LEFT JOIN followed_up f ON f.municipality_ibge = w.municipality_ibge AND f.y = w.y AND f.q = w.q AND f.person_key = w.person_key
  WHERE p.deceased = 0
)
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
  SUM(e.followed) AS numerator,
  ROUND(SUM(e.followed) / COUNT(*), 4) AS rate,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP) AS refreshed_at
FROM evaluated e
JOIN period per ON per.municipality_ibge = e.municipality_ibge AND per.y = e.y AND per.q = e.q
LEFT JOIN ${raw('tb_dim_equipe')} t ON t._municipality_ibge = e.municipality_ibge AND t.co_seq_dim_equipe = e.team_id
LEFT JOIN municipality mu ON mu.municipality_ibge = e.municipality_ibge
GROUP BY e.municipality_ibge, mu.municipality_name, COALESCE(t.nu_ine, '-'), t.no_equipe,
  per.quadrimestre, per.quadrimestre_start, per.quadrimestre_end, per.window_start, per.window_end`;

  return [`DELETE FROM ${target} WHERE TRUE`, insert];
}
