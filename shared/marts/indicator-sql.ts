import { inRefreshScope } from './refresh-scope';
import { dayKeyDate, daysBetween, sqlLiteral, tableRef, type SqlDialect } from './sql-dialect';

/**
 * Building blocks of the indicator SQL shared by every mart: who a person is, which team they
 * belong to, which evaluation periods exist and whether each is closed and covered by the loaded
 * history. Written once for DuckDB and BigQuery (see sql-dialect.ts); the rules are documented in
 * docs/indicators/common.md, the codes in the docs page of each indicator.
 */

/**
 * CBO families (first four characters) of the professionals whose consultations count for the
 * indicators: doctors 2251, 2252, 2253, 2231 and nurses 2235 (the technical notes name these
 * families; the PEC stores the 6-character CBO, e.g. 225142 family doctor, 223565 ESF nurse).
 */
export const DOCTOR_OR_NURSE_CBO = ['2251', '2252', '2253', '2231', '2235'] as const;

/** CID-10 / CIAP-2 / e-SUS ABP codes naming a condition. */
export interface ConditionCodes {
  /** CID-10 three-character categories (I10 covers I10, I109 …). */
  cidCategories: readonly string[];
  /** CID-10 four-character subcategories, as the PEC stores them without the dot (O240 = O24.0). */
  cidSubcategories: readonly string[];
  /** CIAP-2 codes and the e-SUS "ABP" quick codes, both stored in tb_dim_ciap.nu_ciap. */
  ciapCodes: readonly string[];
}

/** Official code lists (docs/indicators/hypertension.md, diabetes.md). */
/** Pregnancy (prenatal care): CIAP W03, W05, W71, W78–W81, W84, W85, ABP001; CID O00–O99, Z32.1, Z33–Z36. */
const PREGNANCY_CODES: ConditionCodes = {
  cidCategories: [...Array.from({ length: 100 }, (_, i) => `O${String(i).padStart(2, '0')}`), 'Z33', 'Z34', 'Z35', 'Z36'],
  cidSubcategories: ['Z321'],
  // ABP001 is the e-SUS quick code for prenatal care (LEDI dictionary: W78 "Pré-natal").
  ciapCodes: ['W03', 'W05', 'W71', 'W78', 'W79', 'W80', 'W81', 'W84', 'W85', 'ABP001'],
};

/**
 * Sexual and reproductive health (C7 practice C): the CIAP-2, CID-10 and ABP codes of item 24 g of the
 * C7 note, as listed there (a three-character CID is its whole category; the note's four-character
 * codes under a listed category are kept as written, they change nothing).
 */
const SEXUAL_REPRODUCTIVE_HEALTH_CODES: ConditionCodes = {
  cidCategories: ['N80', 'N91', 'N92', 'N93', 'N94', 'N95', 'N96', 'N97', 'O03', 'O04', 'Z30', 'Z31', 'Z70'],
  cidSubcategories: [
    ...['N800', 'N801', 'N802', 'N803', 'N804', 'N805', 'N806', 'N808', 'N809'],
    ...['R102', 'T742', 'Y050', 'Y051', 'Y052', 'Y053', 'Y054', 'Y055', 'Y056', 'Y057', 'Y058', 'Y059'],
    ...['Z123', 'Z124', 'Z205', 'Z206', 'Z320', 'Z600', 'Z630', 'Z640', 'Z717', 'Z725'],
  ],
  ciapCodes: [
    ...['B25', 'W02', 'W10', 'W11', 'W12', 'W13', 'W14', 'W15', 'W79', 'W82'],
    ...['X01', 'X02', 'X03', 'X04', 'X05', 'X06', 'X07', 'X08', 'X09', 'X10', 'X11', 'X12', 'X13', 'X23', 'X24', 'X82', 'X89', 'Y14'],
    ...['ABP003', 'ABP022', 'ABP023'],
  ],
};

/**
 * C3 pregnancy (item 24 f of the C3 note): CIAP-2 W03, W78, W79, W81, W84, W85 and the prenatal quick
 * code ABP001; CID-10 O10–O16, O20–O26, O28–O36, O40, O41, O43, O44, O46–O48, O75.2, O75.3, O98,
 * O99.0–O99.7, Z32.1, Z33–Z36, Z64.0. Narrower than Previne's list (no abortion or delivery codes).
 */
const C3_PREGNANCY_CODES: ConditionCodes = {
  cidCategories: [
    ...['O10', 'O11', 'O12', 'O13', 'O14', 'O15', 'O16', 'O20', 'O21', 'O22', 'O23', 'O24', 'O25', 'O26'],
    ...['O28', 'O29', 'O30', 'O31', 'O32', 'O33', 'O34', 'O35', 'O36', 'O40', 'O41', 'O43', 'O44', 'O46', 'O47', 'O48'],
    ...['O98', 'Z33', 'Z34', 'Z35', 'Z36'],
  ],
  cidSubcategories: ['O752', 'O753', 'O990', 'O991', 'O992', 'O993', 'O994', 'O995', 'O996', 'O997', 'Z321', 'Z640'],
  ciapCodes: ['W03', 'W78', 'W79', 'W81', 'W84', 'W85', 'ABP001'],
};

/**
 * C3 puerperium (item 24 f, practice I): CIAP-2 P29, W18, W19, W70, W90–W96; CID-10 F53, M83.0, O10,
 * O15.2, O26.6, O72.2, O72.3, O85–O87, O90–O92, O94, O98, O99, Z37, Z38, Z39. The note's CIAP items
 * "48" and "49" have no chapter letter and are left out.
 */
const C3_PUERPERIUM_CODES: ConditionCodes = {
  cidCategories: ['F53', 'O10', 'O85', 'O86', 'O87', 'O90', 'O91', 'O92', 'O94', 'O98', 'O99', 'Z37', 'Z38', 'Z39'],
  cidSubcategories: ['M830', 'O152', 'O266', 'O722', 'O723'],
  ciapCodes: ['P29', 'W18', 'W19', 'W70', 'W90', 'W91', 'W92', 'W93', 'W94', 'W95', 'W96'],
};

export const CONDITION_CODES = {
  hypertension: {
    cidCategories: ['I10', 'I11', 'I12', 'I13', 'I15', 'O10', 'O11'],
    cidSubcategories: [],
    ciapCodes: ['K86', 'K87', 'ABP005'],
  },
  diabetes: {
    cidCategories: ['E10', 'E11', 'E12', 'E13', 'E14'],
    cidSubcategories: ['O240', 'O241', 'O242', 'O243'],
    ciapCodes: ['T89', 'T90', 'ABP006'],
  },
  pregnancy: PREGNANCY_CODES,
  sexualReproductiveHealth: SEXUAL_REPRODUCTIVE_HEALTH_CODES,
  /** e-SUS quick codes of the screening consultations: ABP022 cervical, ABP023 breast cancer screening. */
  cervicalScreening: { cidCategories: [], cidSubcategories: [], ciapCodes: ['ABP022'] },
  breastScreening: { cidCategories: [], cidSubcategories: [], ciapCodes: ['ABP023'] },
  /**
   * Child care ("Puericultura", C2 practices A and B): the e-SUS quick code ABP004 and its CIAP-2
   * equivalent A98 (the integration dictionary maps ABP004 to A98).
   */
  childCare: { cidCategories: [], cidSubcategories: [], ciapCodes: ['ABP004', 'A98'] },
  /** C3: pregnancy (eligibility) and puerperium (practice I) codes of item 24 f. */
  c3Pregnancy: C3_PREGNANCY_CODES,
  c3Puerperium: C3_PUERPERIUM_CODES,
  /**
   * C3, the end of a pregnancy by birth (docs/indicators/prenatal.md, "Outcome date"): the codes the PEC
   * asks for to record a delivery (PEC manual, "códigos que encerram uma gestação"): CIAP-2 W90–W93,
   * CID-10 O80–O84, Z37, Z38, Z39; and the puerperal complications W94–W96, which imply a delivery.
   */
  c3Delivery: {
    cidCategories: ['O80', 'O81', 'O82', 'O83', 'O84', 'Z37', 'Z38', 'Z39'],
    cidSubcategories: [],
    ciapCodes: ['W90', 'W91', 'W92', 'W93', 'W94', 'W95', 'W96'],
  },
  /** C3 exclusion (item 24 g): abortion — CIAP-2 W82, W83; CID-10 O02 (O02.1 included), O03–O06, Z30.3. */
  c3Abortion: { cidCategories: ['O02', 'O03', 'O04', 'O05', 'O06'], cidSubcategories: ['Z303'], ciapCodes: ['W82', 'W83'] },
} as const satisfies Record<string, ConditionCodes>;

/** SIGTAP and e-SUS AB procedure codes. */
export const PROCEDURE_CODES = {
  bloodPressure: ['0301100039', 'ABPG033'],
  hba1c: ['0202010503', 'ABEX008'],
  /** Collection of cervical material for cytology (Previne Brasil indicator 4). */
  cytologyCollection: ['0201020033', 'ABPG010'],
  /** Syphilis: rapid tests performed, or the exams requested/evaluated. */
  syphilisPerformed: ['0214010074', '0214010082', 'ABPG026'],
  syphilisExam: ['0202031098', '0202031110', '0202031179', 'ABEX019'],
  /** HIV: rapid tests performed, or the exams requested/evaluated. */
  hivPerformed: ['0214010040', '0214010058', 'ABPG024'],
  hivExam: ['0213010500', '0213010780', '0202030300', 'ABEX018'],
  /**
   * C7 practice A, cervical cancer screening: cytology collected (0201020033, ABPG010), the cytology
   * exam (0203010086 screening, 0203010019; ABEX001), material for the HPV molecular test collected
   * or self-collected (0201020076, 0201020084) — 36 months.
   */
  cervicalScreening: ['0201020033', 'ABPG010', '0203010086', '0203010019', 'ABEX001', '0201020076', '0201020084'],
  /** C7 practice A: the HPV molecular test itself (0202100251), 60 months, counted from 2026 (note's footnote 4). */
  hpvMolecularTest: ['0202100251'],
  /** C7 practice D: mammography (0204030030) and bilateral screening mammography (0204030188), requested or evaluated. */
  mammography: ['0204030030', '0204030188'],
  /** C2 practice C: anthropometric evaluation (0101040024) and growth evaluation in child care (0301010269), on the procedure sheet. */
  childAnthropometry: ['0101040024', '0301010269'],
  /** C2 practice C: weight measured (0101040083) and height measured (0101040075) — both on one day count as one record. */
  weightMeasured: ['0101040083'],
  heightMeasured: ['0101040075'],
  /**
   * C3 practices G and H (Quadro 07): rapid tests performed or exams evaluated, by agent. The SIGTAP
   * codes are the note's; the e-SUS AB codes of syphilis and HIV (ABPG026/ABEX019, ABPG024/ABEX018)
   * are their equivalents in the integration dictionary, as for Previne 2. HTLV (02.02.03.031-8) is
   * listed by the note but is none of the four agents.
   */
  c3Syphilis: ['0214010074', '0214010082', '0214010252', '0202031098', '0202031110', '0202031179', 'ABPG026', 'ABEX019'],
  c3Hiv: ['0214010040', '0214010279', '0214010058', '0213010780', '0213010500', '0202030300', 'ABPG024', 'ABEX018'],
  c3HepatitisB: ['0214010104', '0214010236', '0202030784', '0202030970', '0213010208'],
  c3HepatitisC: ['0214010090', '0214010309', '0202030059', '0202030679'],
} as const;

/**
 * C2 practice E, the primary schedule by component (item 24 g of the C2 note): the national vaccine
 * codes (tb_dim_imunobiologico.nu_identificador, without leading zeros) carrying each component,
 * the doses required and whether they must be 30 days apart. Diphtheria, tetanus and pertussis
 * always travel together (`dtp`). MMR doses before 12 months of age do not count.
 */
export const CHILD_SCHEDULE = [
  { component: 'dtp', codes: ['29', '39', '42', '43', '46', '47', '58'], doses: 3, spaced: true },
  { component: 'hepb', codes: ['9', '42', '43'], doses: 3, spaced: true },
  { component: 'hib', codes: ['17', '29', '39', '42', '43'], doses: 3, spaced: true },
  { component: 'polio', codes: ['22', '29', '43', '58'], doses: 3, spaced: true },
  { component: 'mmr', codes: ['24', '56'], doses: 2, spaced: false },
  { component: 'pneumo', codes: ['26', '59', '106', '107'], doses: 2, spaced: true },
] as const;

/**
 * Vaccines and doses by their national codes (tb_dim_imunobiologico.nu_identificador,
 * tb_dim_dose_imunobiologico.nu_identificador): pentavalent (DTP/HB/Hib) 42, inactivated polio
 * (VIP) 22; the third dose is dose code 3; HPV quadrivalent 67 and nonavalent 93 (C7 practice B);
 * adult dTpa 57 (C3 practice F).
 */
/**
 * LEDI gender-identity codes (identidadeGeneroCidadao) as tb_dim_identidade_genero.nu_identificador holds them: C7
 * counts transgender men and leaves transgender women out (docs/indicators/womens-cancer-prevention.md).
 */
export const GENDER_IDENTITY_CODES = { transMan: '149', transWoman: '150' } as const;

export const VACCINE_CODES = { pentavalent: '42', inactivatedPolio: '22', thirdDose: '3', hpv: ['67', '93'], dtpaAdult: '57' } as const;

/** A day key as a day number (days since 2000-01-01), for day arithmetic both engines share. */
export const dayNumber = (dialect: SqlDialect, key: string): string => daysBetween(dialect, "DATE '2000-01-01'", dayKeyDate(key));

export const list = (xs: readonly string[]): string => (xs.length === 0 ? 'NULL' : xs.map(sqlLiteral).join(', '));

/** `YYYYMMDD` key of the first day of the month with 0-based index `idx` (year * 12 + month - 1). */
export const monthKey = (idx: string): string => `(CAST(FLOOR((${idx}) / 12) AS INT64) * 10000 + (MOD(${idx}, 12) + 1) * 100 + 1)`;

/** A day key the PEC uses for a real date (30001231 means "unknown"). */
export const realDay = (col: string): string => `(${col} >= 19000101 AND ${col} < 30000101)`;

/** A CID/CIAP/ABP predicate over the aliases `cid` (tb_dim_cid) and `ciap` (tb_dim_ciap). */
export function conditionPredicate(codes: ConditionCodes): string {
  return `(SUBSTR(cid.nu_cid, 1, 3) IN (${list(codes.cidCategories)})
      OR SUBSTR(cid.nu_cid, 1, 4) IN (${list(codes.cidSubcategories)})
      OR ciap.nu_ciap IN (${list(codes.ciapCodes)}))`;
}

/**
 * The common CTEs (without the leading WITH), for the municipalities of the current refresh only
 * (refresh-scope.ts: usable inside a refresh's script only), in order:
 *
 * - `citizen`, `link1`…`link4`, `record`: each PEC citizen record and the person it belongs to.
 *   Records sharing a CPF pseudonym or a CNS pseudonym are one person (four alternating passes:
 *   chains of records linked through up to four shared numbers are followed).
 * - `person`: one row per (municipality, person_id): pseudonymous `person_key`, team (the newest
 *   record naming one, tb_fat_cidadao_pec.co_dim_equipe_vinc), deceased flag, birth key, sex id.
 * - `team_type`: (municipality, team_id, team_type) — the Ministry code of the team's current type, where known.
 * - `municipality`: IBGE code and name.
 * - `history`: per municipality, the first real consultation day loaded (`history_start_key`) and
 *   the day of the newest extraction (`as_of_key`, `data_as_of`).
 * - `period`: each quadrimestre with consultations, its boundaries as dates and keys, windows of
 *   6, 12, 16, 24, 36 and 60 months ending with it, and whether it is closed.
 * - `team_type_period`: (municipality, y, q, team_id, team_type) — the type in force on the period's last day.
 */
export function commonCtes(dialect: SqlDialect): string {
  const raw = (t: string) => tableRef(dialect, 'raw', t);
  // Only the municipalities of the refresh (refresh-scope.ts): every person, period and event joins these.
  const scoped = inRefreshScope(dialect, '_municipality_ibge');
  return `
citizen AS (
  SELECT
    _municipality_ibge AS municipality_ibge,
    co_seq_fat_cidadao_pec AS citizen_id,
    NULLIF(nu_cpf_cidadao, '') AS cpf,
    NULLIF(nu_cns, '') AS cns,
    co_dim_equipe_vinc AS team_id,
    st_faleceu,
    co_dim_tempo_nascimento AS birth_key,
    co_dim_sexo AS sex_id
  FROM ${raw('tb_fat_cidadao_pec')}
  WHERE ${scoped}
),
-- Person linkage: the component of records connected by a shared CPF or CNS pseudonym, labelled by
-- its smallest record id. Each pass spreads the smallest label over one kind of shared number.
link1 AS (
  SELECT *, CASE WHEN cpf IS NULL THEN citizen_id ELSE MIN(citizen_id) OVER (PARTITION BY municipality_ibge, cpf) END AS l1 FROM citizen
),
link2 AS (
  SELECT *, CASE WHEN cns IS NULL THEN l1 ELSE MIN(l1) OVER (PARTITION BY municipality_ibge, cns) END AS l2 FROM link1
),
link3 AS (
  SELECT *, CASE WHEN cpf IS NULL THEN l2 ELSE MIN(l2) OVER (PARTITION BY municipality_ibge, cpf) END AS l3 FROM link2
),
link4 AS (
  SELECT *, CASE WHEN cns IS NULL THEN l3 ELSE MIN(l3) OVER (PARTITION BY municipality_ibge, cns) END AS person_id FROM link3
),
record AS (
  SELECT
    municipality_ibge, citizen_id, person_id, cpf, cns, team_id, st_faleceu, birth_key, sex_id,
    ROW_NUMBER() OVER (
      PARTITION BY municipality_ibge, person_id
      ORDER BY CASE WHEN team_id IS NULL OR team_id = 1 THEN 1 ELSE 0 END, citizen_id DESC) AS team_rank,
    ROW_NUMBER() OVER (
      PARTITION BY municipality_ibge, person_id
      ORDER BY CASE WHEN ${realDay('birth_key')} THEN 0 ELSE 1 END, citizen_id DESC) AS birth_rank
  FROM link4
),
person AS (
  SELECT
    municipality_ibge, person_id,
    COALESCE('cpf:' || MIN(cpf), 'cns:' || MIN(cns), 'pec:' || municipality_ibge || ':' || CAST(person_id AS STRING)) AS person_key,
    MAX(CASE WHEN st_faleceu = 1 THEN 1 ELSE 0 END) AS deceased,
    MAX(CASE WHEN team_rank = 1 THEN team_id END) AS team_id, -- the sentinel 1 (or NULL) when no record names a team
    MAX(CASE WHEN birth_rank = 1 AND ${realDay('birth_key')} THEN birth_key END) AS birth_key,
    MAX(CASE WHEN birth_rank = 1 THEN sex_id END) AS sex_id
  FROM record
  GROUP BY municipality_ibge, person_id
),
${teamTypeCte(dialect)},
municipality AS (
  SELECT _municipality_ibge AS municipality_ibge, MAX(no_municipio) AS municipality_name
  FROM ${raw('tb_dim_municipio')}
  WHERE co_ibge = _municipality_ibge OR co_ibge = SUBSTR(_municipality_ibge, 1, 6)
  GROUP BY 1
),
history AS (
  -- What the warehouse holds for each municipality: from the first real consultation day loaded,
  -- up to the day of the newest extraction (the data "as of").
  SELECT
    _municipality_ibge AS municipality_ibge,
    MIN(CASE WHEN ${realDay('co_dim_tempo')} THEN co_dim_tempo END) AS history_start_key,
    MAX(CAST(EXTRACT(YEAR FROM _extracted_at) AS INT64) * 10000 + CAST(EXTRACT(MONTH FROM _extracted_at) AS INT64) * 100
        + CAST(EXTRACT(DAY FROM _extracted_at) AS INT64)) AS as_of_key,
    CAST(MAX(_extracted_at) AS DATE) AS data_as_of
  FROM ${raw('tb_fat_atendimento_individual')}
  WHERE ${scoped}
  GROUP BY 1
),
quadrimestre AS (
  -- Every quadrimestre with consultations in the warehouse.
  SELECT DISTINCT
    _municipality_ibge AS municipality_ibge,
    CAST(FLOOR(co_dim_tempo / 10000) AS INT64) AS y,
    CAST(FLOOR((MOD(CAST(FLOOR(co_dim_tempo / 100) AS INT64), 100) - 1) / 4) AS INT64) + 1 AS q
  FROM ${raw('tb_fat_atendimento_individual')}
  WHERE ${scoped} AND ${realDay('co_dim_tempo')}
),
period AS (
  SELECT
    qq.municipality_ibge, qq.y, qq.q,
    CAST(qq.y AS STRING) || 'Q' || CAST(qq.q AS STRING) AS quadrimestre,
    CAST(CAST(qq.y AS STRING) || CASE qq.q WHEN 1 THEN '-01-01' WHEN 2 THEN '-05-01' ELSE '-09-01' END AS DATE) AS quadrimestre_start,
    CAST(CAST(qq.y AS STRING) || CASE qq.q WHEN 1 THEN '-04-30' WHEN 2 THEN '-08-31' ELSE '-12-31' END AS DATE) AS quadrimestre_end,
    CASE qq.q WHEN 1 THEN CAST(CAST(qq.y - 1 AS STRING) || '-11-01' AS DATE)
              WHEN 2 THEN CAST(CAST(qq.y AS STRING) || '-03-01' AS DATE)
              ELSE CAST(CAST(qq.y AS STRING) || '-07-01' AS DATE) END AS window_start,
    CASE qq.q WHEN 1 THEN CAST(CAST(qq.y AS STRING) || '-05-01' AS DATE)
              WHEN 2 THEN CAST(CAST(qq.y AS STRING) || '-09-01' AS DATE)
              ELSE CAST(CAST(qq.y + 1 AS STRING) || '-01-01' AS DATE) END AS window_end,
    -- Day keys: the last day of the quadrimestre (inclusive, ages are taken on it), the day after it
    -- (exclusive end of every window), and the first day of the 6-, 12- and 36-month windows.
    qq.y * 10000 + CASE qq.q WHEN 1 THEN 101 WHEN 2 THEN 501 ELSE 901 END AS first_day_key,
    qq.y * 10000 + CASE qq.q WHEN 1 THEN 430 WHEN 2 THEN 831 ELSE 1231 END AS last_day_key,
    ${dayNumber(dialect, 'qq.y * 10000 + CASE qq.q WHEN 1 THEN 101 WHEN 2 THEN 501 ELSE 901 END')} AS first_day_n,
    ${dayNumber(dialect, 'qq.y * 10000 + CASE qq.q WHEN 1 THEN 430 WHEN 2 THEN 831 ELSE 1231 END')} AS last_day_n,
    ${monthKey('qq.y * 12 + qq.q * 4')} AS end_key,
    ${monthKey('qq.y * 12 + qq.q * 4 - 6')} AS start6_key,
    ${monthKey('qq.y * 12 + qq.q * 4 - 12')} AS start12_key,
    ${monthKey('qq.y * 12 + qq.q * 4 - 16')} AS start16_key,
    ${monthKey('qq.y * 12 + qq.q * 4 - 24')} AS start24_key,
    ${monthKey('qq.y * 12 + qq.q * 4 - 36')} AS start36_key,
    ${monthKey('qq.y * 12 + qq.q * 4 - 60')} AS start60_key,
    -- Closed once the data is as of the first day of the second month after the quadrimestre: one
    -- month of grace for records sent late (docs/indicators/common.md, "Honest periods").
    CASE WHEN h.as_of_key >= ${monthKey('qq.y * 12 + qq.q * 4 + 1')} THEN 1 ELSE 0 END AS period_closed,
    h.history_start_key,
    h.data_as_of
  FROM quadrimestre qq
  JOIN history h ON h.municipality_ibge = qq.municipality_ibge
),${teamTypePeriodCte(dialect)}`;
}

/** The Ministry of Health codes of the team types the 2024-model indicators count (docs/indicators/common.md, "Team type"). */
export const TEAM_TYPE = { esf: '70', eap: '76' } as const;

/**
 * CTE `team_type` (municipality_ibge, team_id, team_type), for the municipalities of the refresh: the Ministry
 * code of each data-warehouse team's **current** type, where the transactional tables know it (dim_team shows it;
 * `team_type_period` falls back to it).
 */
export function teamTypeCte(dialect: SqlDialect): string {
  const raw = (t: string) => tableRef(dialect, 'raw', t);
  return `
team_type AS (
  -- The Ministry of Health code of each data-warehouse team's type (tb_tipo_equipe.nu_ms: '70' eSF, '76' eAP),
  -- through its INE in the transactional tb_equipe (several rows per INE are possible). A team absent there, a PEC
  -- without those tables, or an INE whose rows disagree on the type: no row here (type unknown).
  SELECT t._municipality_ibge AS municipality_ibge, t.co_seq_dim_equipe AS team_id, MIN(TRIM(tt.nu_ms)) AS team_type
  FROM ${raw('tb_dim_equipe')} t
  JOIN ${raw('tb_equipe')} e ON e._municipality_ibge = t._municipality_ibge AND e.nu_ine = t.nu_ine
  JOIN ${raw('tb_tipo_equipe')} tt ON tt._municipality_ibge = e._municipality_ibge AND tt.co_seq_tipo_equipe = e.tp_equipe
  WHERE ${inRefreshScope(dialect, 't._municipality_ibge')}
  GROUP BY t._municipality_ibge, t.co_seq_dim_equipe
  HAVING MIN(TRIM(tt.nu_ms)) = MAX(TRIM(tt.nu_ms))
)`;
}

/**
 * CTE `team_type_period` (municipality_ibge, y, q, team_id, team_type), after `period` and `team_type`: the Ministry
 * code of each data-warehouse team's type in force on each period's last day (docs/indicators/common.md, "Team type").
 * Per team row of the PEC (co_seq_equipe), its last audited state (ta_equipe) dated on or before that day — a
 * deletion ('D') leaves no state — then, by INE, the type those states agree on (two types: unknown). An INE with
 * no audited state by then (the audit began later, or the PEC lacks ta_equipe) takes its current type.
 */
export function teamTypePeriodCte(dialect: SqlDialect): string {
  const raw = (t: string) => tableRef(dialect, 'raw', t);
  return `
team_type_period AS (
  SELECT per.municipality_ibge, per.y, per.q, t.co_seq_dim_equipe AS team_id,
    CASE WHEN audited.nu_ine IS NOT NULL THEN audited.team_type ELSE now_.team_type END AS team_type
  FROM period per
  JOIN ${raw('tb_dim_equipe')} t ON t._municipality_ibge = per.municipality_ibge
  LEFT JOIN (
    -- NULL team_type: the states disagree, or one names a type tb_tipo_equipe does not have.
    SELECT municipality_ibge, y, q, nu_ine,
      CASE WHEN COUNT(*) = COUNT(nu_ms) AND MIN(nu_ms) = MAX(nu_ms) THEN MIN(nu_ms) END AS team_type
    FROM (
      SELECT per2.municipality_ibge, per2.y, per2.q, a.nu_ine, a.co_tipo_auditoria, TRIM(tt.nu_ms) AS nu_ms,
        ROW_NUMBER() OVER (
          PARTITION BY per2.municipality_ibge, per2.y, per2.q, a.co_seq_equipe
          ORDER BY a.dt_auditoria DESC, a.co_seq_taequipe DESC) AS rn
      FROM period per2
      JOIN ${raw('ta_equipe')} a ON a._municipality_ibge = per2.municipality_ibge AND CAST(a.dt_auditoria AS DATE) <= per2.quadrimestre_end
      LEFT JOIN ${raw('tb_tipo_equipe')} tt ON tt._municipality_ibge = a._municipality_ibge AND tt.co_seq_tipo_equipe = a.tp_equipe
    ) last_state
    WHERE rn = 1 AND COALESCE(co_tipo_auditoria, '') <> 'D'
    GROUP BY municipality_ibge, y, q, nu_ine
  ) audited ON audited.municipality_ibge = per.municipality_ibge AND audited.y = per.y AND audited.q = per.q AND audited.nu_ine = t.nu_ine
  LEFT JOIN team_type now_ ON now_.municipality_ibge = per.municipality_ibge AND now_.team_id = t.co_seq_dim_equipe
)`;
}

/**
 * CTE `condition_consultation` (municipality_ibge, person_id, day_key): consultations by a doctor
 * or nurse (DOCTOR_OR_NURSE_CBO) that record the condition among the problems evaluated. `columns`
 * replaces the day key when a caller needs more of the consultation (C3: its id, day number and LMP).
 */
export function conditionConsultationCte(dialect: SqlDialect, name: string, codes: ConditionCodes, columns = 'a.co_dim_tempo AS day_key'): string {
  const raw = (t: string) => tableRef(dialect, 'raw', t);
  return `
${name} AS (
  SELECT DISTINCT r.municipality_ibge, r.person_id, ${columns}
  FROM ${raw('tb_fat_atd_ind_problemas')} p
  JOIN ${raw('tb_fat_atendimento_individual')} a ON a._municipality_ibge = p._municipality_ibge AND a.co_seq_fat_atd_ind = p.co_fat_atd_ind
  JOIN ${raw('tb_dim_cbo')} cbo ON cbo._municipality_ibge = a._municipality_ibge AND cbo.co_seq_dim_cbo = a.co_dim_cbo_1
  LEFT JOIN ${raw('tb_dim_cid')} cid ON cid._municipality_ibge = p._municipality_ibge AND cid.co_seq_dim_cid = p.co_dim_cid
  LEFT JOIN ${raw('tb_dim_ciap')} ciap ON ciap._municipality_ibge = p._municipality_ibge AND ciap.co_seq_dim_ciap = p.co_dim_ciap
  JOIN record r ON r.municipality_ibge = a._municipality_ibge AND r.citizen_id = a.co_fat_cidadao_pec
  WHERE SUBSTR(cbo.nu_cbo, 1, 4) IN (${list(DOCTOR_OR_NURSE_CBO)})
    AND ${realDay('a.co_dim_tempo')}
    AND ${conditionPredicate(codes)}
)`;
}

/**
 * CTE `<name>` (municipality_ibge, y, q, person_id, value): a self-declared column in the winning
 * registration version of each person as of each period's end — the newest version (by date, then
 * by id) among all the person's PEC records, so a newer "no" on any of their records withdraws an
 * older "yes" on another, and a newer version declaring no gender identity withdraws an older one.
 */
export function winningRegistrationCte(dialect: SqlDialect, name: string, column: 'st_hipertensao_arterial' | 'st_diabete' | 'co_dim_identidade_genero'): string {
  const raw = (t: string) => tableRef(dialect, 'raw', t);
  return `
${name} AS (
  SELECT municipality_ibge, y, q, person_id, value
  FROM (
    SELECT
      per.municipality_ibge, per.y, per.q, r.person_id, f.${column} AS value,
      ROW_NUMBER() OVER (
        PARTITION BY per.municipality_ibge, per.y, per.q, r.person_id
        ORDER BY f.co_dim_tempo DESC, f.co_seq_fat_cad_individual DESC) AS rn
    FROM period per
    JOIN ${raw('tb_fat_cad_individual')} f ON f._municipality_ibge = per.municipality_ibge AND f.co_dim_tempo < per.end_key
    JOIN record r ON r.municipality_ibge = f._municipality_ibge AND r.citizen_id = f.co_fat_cidadao_pec
  ) ranked
  WHERE rn = 1
)`;
}

/** Names the aggregates and the follow-up marts show, from raw (the dimension marts may refresh later). */
export function namesFrom(dialect: SqlDialect): { teams: string; municipalities: string } {
  const raw = (t: string) => tableRef(dialect, 'raw', t);
  return {
    teams: `(SELECT _municipality_ibge AS municipality_ibge, COALESCE(NULLIF(nu_ine, ''), '-') AS team_ine, MAX(no_equipe) AS team_name
      FROM ${raw('tb_dim_equipe')} GROUP BY 1, 2)`,
    municipalities: `(SELECT _municipality_ibge AS municipality_ibge, MAX(no_municipio) AS municipality_name
      FROM ${raw('tb_dim_municipio')} WHERE co_ibge = _municipality_ibge OR co_ibge = SUBSTR(_municipality_ibge, 1, 6) GROUP BY 1)`,
  };
}
