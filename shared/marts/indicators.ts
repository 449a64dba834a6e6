import { asFloat, daysBetween, dayKeyDate, sqlLiteral, tableRef, type SqlDialect } from './sql-dialect';
import {
  CHILD_SCHEDULE,
  CONDITION_CODES,
  DOCTOR_OR_NURSE_CBO,
  GENDER_IDENTITY_CODES,
  TEAM_TYPE,
  type ConditionCodes,
  PROCEDURE_CODES,
  VACCINE_CODES,
  commonCtes,
  conditionConsultationCte,
  conditionPredicate,
  dayNumber,
  list,
  realDay,
  winningRegistrationCte,
} from './indicator-sql';

/**
 * The primary-care quality indicators the marts compute, one definition each: the metadata Power BI
 * shows (marts.dim_indicator), the good practices and their scores, and the SQL that evaluates each
 * person of the denominator in each quadrimestre. The rules, codes and the choices made where the
 * official notes are ambiguous are written out in docs/indicators/<doc>.md.
 */
export interface GoodPractice {
  /** 1-based; the fact table's gp_<n> column. */
  n: number;
  description: string;
  /** Points of the practice in the indicator's 0–100 score; null: the indicator is a plain proportion. */
  score: number | null;
}

/** Which window of `period` the numerator looks back over (and the loaded history must cover). */
type Lookback = 'start6_key' | 'start12_key' | 'start16_key' | 'start24_key' | 'start36_key' | 'start60_key';

export interface Indicator {
  id: string;
  name: string;
  program: 'Previne Brasil (2019–2024)' | 'Cofinanciamento APS (Portaria GM/MS 3.493/2024)';
  /** The technical note the definition follows (docs/indicators/<doc>.md says more). */
  officialNote: string;
  doc: string;
  /** Target proportion (0–1) of people meeting the numerator; null when the note sets none we could confirm. */
  target: number | null;
  goodPractices: readonly GoodPractice[];
  /**
   * How the 0–100 score of a team or municipality is formed. `personMean` (default, C4–C6): the mean
   * of the person scores (Σ points met). `practiceProportions` (C7): each practice has its own
   * population, so the score is Σ points × (people meeting it / people it applies to); the fact's
   * gp_<n> is NULL for a person the practice does not apply to, and the person score is NULL.
   */
  scoring?: 'personMean' | 'practiceProportions';
  lookback: Lookback;
  /**
   * The 2024-model notes count people bound to eSF (70) and eAP (76) teams only: set, a person whose team has
   * another known type on the period's last day is left out; a team whose type the PEC does not give counts
   * (docs/indicators/common.md).
   */
  esfEapOnly?: boolean;
  /**
   * Good practices (gp numbers) an eAP team's person is given in full (the community-health-agent practices:
   * eAP teams have no agents). Only for indicators whose numerator is "every practice met".
   */
  eapInFull?: readonly number[];
  /** Event CTEs (keys of eventCtes()) the evaluation reads; only these are put in the SQL. */
  needs: readonly EventName[];
  /**
   * SELECT over `period per` (and the event CTEs) giving (municipality_ibge, y, q, person_id,
   * gp_1 … gp_k, in_numerator) for every person of the denominator, deceased people included (the
   * caller removes them).
   */
  evaluate: () => string;
}

/** C3 has eleven (A–K); the fact and the aggregates carry gp_1 … gp_11. */
export const MAX_GOOD_PRACTICES = 11;

/** (municipality, y, q, person_id) of people with at least one `event` in the window ending with each period. */
function inWindow(event: EventName, lookback: Lookback): string {
  return `SELECT DISTINCT per.municipality_ibge, per.y, per.q, e.person_id
    FROM period per JOIN ${event} e
      ON e.municipality_ibge = per.municipality_ibge AND e.day_key >= per.${lookback} AND e.day_key < per.end_key`;
}

/** A LEFT JOIN of a flag subquery and the 0/1 column it yields. */
const flag = (alias: string, subquery: string) => ({
  join: `LEFT JOIN (${subquery}) ${alias} ON ${alias}.municipality_ibge = d.municipality_ibge AND ${alias}.y = d.y AND ${alias}.q = d.q AND ${alias}.person_id = d.person_id`,
  col: `CASE WHEN ${alias}.person_id IS NULL THEN 0 ELSE 1 END`,
});

/** People with the condition as of each period's end, Previne Brasil style: diagnosed, or self-declared in the winning registration. */
const previneCondition = (consult: EventName, registration: EventName) => `
    SELECT per.municipality_ibge, per.y, per.q, c.person_id
    FROM period per JOIN ${consult} c ON c.municipality_ibge = per.municipality_ibge AND c.day_key < per.end_key
    UNION DISTINCT
    SELECT municipality_ibge, y, q, person_id FROM ${registration} WHERE value = 1`;

/** People diagnosed in a consultation by a doctor or nurse up to each period's end (the 2024 model). */
const diagnosed = (consult: EventName) => `
    SELECT DISTINCT per.municipality_ibge, per.y, per.q, c.person_id
    FROM period per JOIN ${consult} c ON c.municipality_ibge = per.municipality_ibge AND c.day_key < per.end_key`;

function evaluation(denominator: string, flags: { join: string; col: string }[], numerator: string): string {
  return `
    SELECT d.municipality_ibge, d.y, d.q, d.person_id,
      ${flags.map((f, i) => `${f.col} AS gp_${i + 1}`).join(',\n      ')},
      CASE WHEN ${numerator} THEN 1 ELSE 0 END AS in_numerator
    FROM (${denominator}) d
    ${flags.map((f) => f.join).join('\n    ')}`;
}

/** The numerator condition "every practice met", over the flag expressions. */
const both = (flags: { col: string }[]) => flags.map((f) => `${f.col} = 1`).join(' AND ');

export const INDICATORS: readonly Indicator[] = [
  {
    id: 'previne_hypertension',
    name: 'Previne Brasil 6: people with hypertension with a consultation and blood pressure measured in the semester',
    program: 'Previne Brasil (2019–2024)',
    officialNote: 'Previne Brasil: nota técnica do indicador 6 (SAPS/MS, edição 2022)',
    doc: 'hypertension.md',
    target: 0.5,
    goodPractices: [
      { n: 1, description: 'Consultation by a doctor or nurse recording hypertension in the last 6 months', score: null },
      { n: 2, description: 'Blood pressure measured in the last 6 months', score: null },
    ],
    lookback: 'start6_key',
    needs: ['hypertension_consultation', 'hypertension_registration', 'blood_pressure'],
    evaluate() {
      const f = [flag('k', inWindow('hypertension_consultation', 'start6_key')), flag('b', inWindow('blood_pressure', 'start6_key'))];
      return evaluation(previneCondition('hypertension_consultation', 'hypertension_registration'), f, both(f));
    },
  },
  {
    id: 'previne_diabetes',
    name: 'Previne Brasil 7: people with diabetes with a consultation and HbA1c requested in the semester',
    program: 'Previne Brasil (2019–2024)',
    officialNote: 'Previne Brasil: nota técnica do indicador 7 (SAPS/MS, edição 2022)',
    doc: 'diabetes.md',
    target: 0.5,
    goodPractices: [
      { n: 1, description: 'Consultation by a doctor or nurse recording diabetes in the last 6 months', score: null },
      { n: 2, description: 'HbA1c requested or evaluated in the last 6 months', score: null },
    ],
    lookback: 'start6_key',
    needs: ['diabetes_consultation', 'diabetes_registration', 'hba1c'],
    evaluate() {
      const f = [flag('k', inWindow('diabetes_consultation', 'start6_key')), flag('h', inWindow('hba1c', 'start6_key'))];
      return evaluation(previneCondition('diabetes_consultation', 'diabetes_registration'), f, both(f));
    },
  },
  {
    id: 'previne_cytology',
    name: 'Previne Brasil 4: women aged 25 to 64 with a cervical cytology collection in the last 3 years',
    program: 'Previne Brasil (2019–2024)',
    officialNote: 'Previne Brasil: nota técnica do indicador 4 (SAPS/MS, edição 2022)',
    doc: 'cytology.md',
    target: 0.4,
    goodPractices: [{ n: 1, description: 'Cervical cytology collected in the last 36 months', score: null }],
    lookback: 'start36_key',
    needs: ['woman', 'cytology_collection'],
    evaluate() {
      const f = [flag('c', inWindow('cytology_collection', 'start36_key'))];
      const denominator = `
    SELECT per.municipality_ibge, per.y, per.q, w.person_id
    FROM period per JOIN woman w ON w.municipality_ibge = per.municipality_ibge
    WHERE CAST(FLOOR((per.last_day_key - w.birth_key) / 10000) AS INT64) BETWEEN 25 AND 64`;
      return evaluation(denominator, f, both(f));
    },
  },
  {
    id: 'previne_prenatal_consultations',
    name: 'Previne Brasil 1: pregnant women with at least 6 prenatal consultations, the first by the 12th week',
    program: 'Previne Brasil (2019–2024)',
    officialNote: 'Previne Brasil: nota técnica do indicador 1 (SAPS/MS, edição 2022)',
    doc: 'prenatal.md',
    target: 0.45,
    goodPractices: [
      { n: 1, description: 'At least 6 prenatal consultations by a doctor or nurse during the pregnancy', score: null },
      { n: 2, description: 'First prenatal consultation by the 12th week of gestation', score: null },
    ],
    lookback: 'start16_key',
    needs: ['pregnancy'],
    evaluate() {
      const during = `FROM pregnancy g JOIN prenatal_consultation c
          ON c.municipality_ibge = g.municipality_ibge AND c.person_id = g.person_id AND c.day_n >= g.dum_n AND c.day_n < g.dum_n + ${PREGNANCY_DAYS}`;
      const f = [
        flag(
          's',
          `SELECT g.municipality_ibge, g.y, g.q, g.person_id ${during}
          GROUP BY g.municipality_ibge, g.y, g.q, g.person_id HAVING COUNT(DISTINCT c.consultation_id) >= 6`,
        ),
        // "By the 12th week": gestational age in completed weeks at most 12 (day 90 after the LMP).
        flag(
          'e',
          `SELECT g.municipality_ibge, g.y, g.q, g.person_id ${during}
          GROUP BY g.municipality_ibge, g.y, g.q, g.person_id, g.dum_n HAVING MIN(c.day_n) - g.dum_n <= 90`,
        ),
      ];
      return evaluation('SELECT municipality_ibge, y, q, person_id FROM pregnancy', f, both(f));
    },
  },
  {
    id: 'previne_prenatal_exams',
    name: 'Previne Brasil 2: pregnant women with syphilis and HIV exams',
    program: 'Previne Brasil (2019–2024)',
    officialNote: 'Previne Brasil: nota técnica do indicador 2 (SAPS/MS, edição 2022)',
    doc: 'prenatal.md',
    target: 0.6,
    goodPractices: [
      { n: 1, description: 'Syphilis rapid test performed or exam requested/evaluated during the pregnancy', score: null },
      { n: 2, description: 'HIV rapid test performed or exam requested/evaluated during the pregnancy', score: null },
    ],
    lookback: 'start16_key',
    needs: ['pregnancy', 'syphilis_exam', 'hiv_exam'],
    evaluate() {
      const exam = (event: EventName) => `SELECT DISTINCT g.municipality_ibge, g.y, g.q, g.person_id FROM pregnancy g JOIN ${event} x
          ON x.municipality_ibge = g.municipality_ibge AND x.person_id = g.person_id AND x.day_n >= g.dum_n AND x.day_n < g.dum_n + ${PREGNANCY_DAYS}`;
      const f = [flag('s', exam('syphilis_exam')), flag('h', exam('hiv_exam'))];
      return evaluation('SELECT municipality_ibge, y, q, person_id FROM pregnancy', f, both(f));
    },
  },
  {
    id: 'previne_prenatal_dental',
    name: 'Previne Brasil 3: pregnant women with dental care during the pregnancy',
    program: 'Previne Brasil (2019–2024)',
    officialNote: 'Previne Brasil: nota técnica do indicador 3 (SAPS/MS, edição 2022)',
    doc: 'prenatal.md',
    target: 0.6,
    goodPractices: [{ n: 1, description: 'Dental consultation by a dentist during the pregnancy', score: null }],
    lookback: 'start16_key',
    needs: ['pregnancy', 'dental_consultation'],
    evaluate() {
      const f = [
        flag(
          'o',
          `SELECT DISTINCT g.municipality_ibge, g.y, g.q, g.person_id FROM pregnancy g JOIN dental_consultation o
          ON o.municipality_ibge = g.municipality_ibge AND o.person_id = g.person_id AND o.day_n >= g.dum_n AND o.day_n < g.dum_n + ${PREGNANCY_DAYS}`,
        ),
      ];
      return evaluation('SELECT municipality_ibge, y, q, person_id FROM pregnancy', f, both(f));
    },
  },
  {
    id: 'previne_vaccination',
    name: 'Previne Brasil 5: children aged one vaccinated against diphtheria, tetanus, pertussis, hepatitis B, Hib and polio (third doses)',
    program: 'Previne Brasil (2019–2024)',
    officialNote: 'Previne Brasil: nota técnica do indicador 5 (SAPS/MS, edição 2022)',
    doc: 'vaccination.md',
    target: 0.95,
    goodPractices: [
      { n: 1, description: 'Third dose of the pentavalent vaccine (DTP/HB/Hib) recorded', score: null },
      { n: 2, description: 'Third dose of the inactivated polio vaccine (VIP) recorded', score: null },
    ],
    // From the first birthday's quadrimestre back to birth: the 16 months ending with it.
    lookback: 'start16_key',
    needs: ['third_dose'],
    evaluate() {
      const dose = (vaccine: string) =>
        `SELECT DISTINCT per.municipality_ibge, per.y, per.q, v.person_id FROM period per JOIN third_dose v
          ON v.municipality_ibge = per.municipality_ibge AND v.vaccine = ${sqlLiteral(vaccine)} AND v.day_key < per.end_key`;
      const f = [flag('p', dose(VACCINE_CODES.pentavalent)), flag('v', dose(VACCINE_CODES.inactivatedPolio))];
      // Children whose first birthday falls in the quadrimestre (key arithmetic: + 10000 is one year).
      const denominator = `
    SELECT per.municipality_ibge, per.y, per.q, p.person_id
    FROM period per JOIN person p ON p.municipality_ibge = per.municipality_ibge
    WHERE p.birth_key + 10000 BETWEEN per.first_day_key AND per.last_day_key`;
      return evaluation(denominator, f, both(f));
    },
  },
  {
    id: 'c5_hypertension',
    name: 'C5: care of people with hypertension (good-practice score)',
    program: 'Cofinanciamento APS (Portaria GM/MS 3.493/2024)',
    esfEapOnly: true,
    officialNote: 'Nota metodológica "Cuidado da pessoa com hipertensão" (SAPS/MS, 2025)',
    doc: 'hypertension.md',
    target: null,
    goodPractices: [
      { n: 1, description: 'Consultation by a doctor or nurse in the last 6 months', score: 25 },
      { n: 2, description: 'Blood pressure measured in the last 6 months', score: 25 },
      { n: 3, description: 'Weight and height recorded on the same day in the last 12 months', score: 25 },
      { n: 4, description: 'Two home visits by a community health agent at least 30 days apart in the last 12 months', score: 25 },
    ],
    lookback: 'start12_key',
    needs: ['hypertension_consultation', 'doctor_or_nurse_consultation', 'blood_pressure', 'anthropometry', 'agent_visit'],
    evaluate() {
      const f = [
        flag('k', inWindow('doctor_or_nurse_consultation', 'start6_key')),
        flag('b', inWindow('blood_pressure', 'start6_key')),
        flag('a', inWindow('anthropometry', 'start12_key')),
        flag('v', 'SELECT * FROM agent_visits_12'),
      ];
      return evaluation(diagnosed('hypertension_consultation'), f, both(f));
    },
  },
  {
    id: 'c4_diabetes',
    name: 'C4: care of people with diabetes (good-practice score)',
    program: 'Cofinanciamento APS (Portaria GM/MS 3.493/2024)',
    esfEapOnly: true,
    officialNote: 'Nota metodológica "Cuidado da pessoa com diabetes" (SAPS/MS, 2025)',
    doc: 'diabetes.md',
    target: null,
    goodPractices: [
      { n: 1, description: 'Consultation by a doctor or nurse in the last 6 months', score: 20 },
      { n: 2, description: 'Blood pressure measured in the last 6 months', score: 15 },
      { n: 3, description: 'Weight and height recorded on the same day in the last 12 months', score: 15 },
      { n: 4, description: 'Two home visits by a community health agent at least 30 days apart in the last 12 months', score: 20 },
      { n: 5, description: 'HbA1c requested or evaluated in the last 12 months', score: 15 },
      { n: 6, description: 'Diabetic foot examined in the last 12 months', score: 15 },
    ],
    lookback: 'start12_key',
    needs: ['diabetes_consultation', 'doctor_or_nurse_consultation', 'blood_pressure', 'anthropometry', 'agent_visit', 'hba1c', 'foot_exam'],
    evaluate() {
      const f = [
        flag('k', inWindow('doctor_or_nurse_consultation', 'start6_key')),
        flag('b', inWindow('blood_pressure', 'start6_key')),
        flag('a', inWindow('anthropometry', 'start12_key')),
        flag('v', 'SELECT * FROM agent_visits_12'),
        flag('h', inWindow('hba1c', 'start12_key')),
        flag('p', inWindow('foot_exam', 'start12_key')),
      ];
      return evaluation(diagnosed('diabetes_consultation'), f, both(f));
    },
  },
  {
    id: 'c6_older_people',
    name: 'C6: care of older people (good-practice score)',
    program: 'Cofinanciamento APS (Portaria GM/MS 3.493/2024)',
    esfEapOnly: true,
    officialNote: 'Nota metodológica "Cuidado integral da pessoa idosa" (SAPS/MS, 2025)',
    doc: 'older-people.md',
    target: null,
    goodPractices: [
      { n: 1, description: 'Consultation by a doctor or nurse in the last 12 months', score: 25 },
      { n: 2, description: 'Weight and height recorded on the same day in the last 12 months', score: 25 },
      { n: 3, description: 'Two home visits by a community health agent at least 30 days apart in the last 12 months', score: 25 },
      { n: 4, description: 'One dose of the influenza vaccine in the last 12 months', score: 25 },
    ],
    lookback: 'start12_key',
    needs: ['doctor_or_nurse_consultation', 'anthropometry', 'agent_visit', 'influenza_dose'],
    evaluate() {
      const f = [
        flag('k', inWindow('doctor_or_nurse_consultation', 'start12_key')),
        flag('a', inWindow('anthropometry', 'start12_key')),
        flag('v', 'SELECT * FROM agent_visits_12'),
        flag('i', inWindow('influenza_dose', 'start12_key')),
      ];
      // People aged 60 or more on the quadrimestre's last day (key arithmetic, as for cytology).
      const denominator = `
    SELECT per.municipality_ibge, per.y, per.q, p.person_id
    FROM period per JOIN person p ON p.municipality_ibge = per.municipality_ibge
    WHERE p.birth_key IS NOT NULL AND CAST(FLOOR((per.last_day_key - p.birth_key) / 10000) AS INT64) >= 60`;
      return evaluation(denominator, f, both(f));
    },
  },
  {
    id: 'c2_child_development',
    name: 'C2: care of child development up to age two (good-practice score)',
    program: 'Cofinanciamento APS (Portaria GM/MS 3.493/2024)',
    esfEapOnly: true,
    officialNote: 'Nota metodológica C2 "Cuidado no desenvolvimento infantil" (SAPS/MS, SEI 0054824593, 2026)',
    doc: 'child-development.md',
    target: null,
    goodPractices: [
      { n: 1, description: 'First consultation by a doctor or nurse (child care) by day 30 of life', score: 20 },
      { n: 2, description: 'At least 9 consultations by a doctor or nurse (child care) by age two', score: 20 },
      { n: 3, description: 'At least 9 days with weight and height recorded by age two', score: 20 },
      { n: 4, description: 'Two home visits by a community health agent (motive newborn or child), the first by day 30 and the second by 6 months of life', score: 20 },
      { n: 5, description: 'Vaccines against diphtheria, tetanus, pertussis, hepatitis B, Hib, polio, measles-mumps-rubella and pneumococcus with every dose', score: 20 },
    ],
    // Children up to two during the quadrimestre were born at most 28 months before its end: 36 months covers them.
    lookback: 'start36_key',
    // D, the agent's home visits, in full for eAP teams (no community health agents): the C2 note.
    eapInFull: [4],
    needs: ['child', 'child_care_consultation', 'child_anthropometry', 'agent_visit', 'child_dose'],
    evaluate() {
      // Events of each child of the period from birth to the period's end, and up to a day of life.
      const life = (event: string, upTo: string) => `SELECT c.municipality_ibge, c.y, c.q, c.person_id, c.birth_n, e.day_key, e.day_n
          FROM child c JOIN ${event} e ON e.municipality_ibge = c.municipality_ibge AND e.person_id = c.person_id
          WHERE e.day_key >= c.birth_key AND e.day_key < c.end_key AND ${upTo}`;
      // "By age two": up to the second birthday (key + 20000), inclusive.
      const atLeast = (event: string, n: number) => `SELECT municipality_ibge, y, q, person_id FROM (${life(event, 'e.day_key <= c.birth_key + 20000')}) x
          GROUP BY municipality_ibge, y, q, person_id HAVING COUNT(DISTINCT day_key) >= ${n}`;
      const f = [
        flag('a', `SELECT DISTINCT municipality_ibge, y, q, person_id FROM (${life('child_care_consultation', 'e.day_n - c.birth_n <= 30')}) x`),
        flag('b', atLeast('child_care_consultation', 9)),
        flag('g', atLeast('child_anthropometry', 9)),
        // Two visits by 6 months of life, the first of them by day 30.
        flag(
          'v',
          `SELECT municipality_ibge, y, q, person_id FROM (${life('child_agent_visit', 'e.day_key <= c.six_months_key')}) x
          GROUP BY municipality_ibge, y, q, person_id HAVING COUNT(DISTINCT day_key) >= 2 AND MIN(day_n) - MIN(birth_n) <= 30`,
        ),
        flag(
          'im',
          `SELECT municipality_ibge, y, q, person_id FROM child_component_met
          GROUP BY municipality_ibge, y, q, person_id HAVING COUNT(DISTINCT component) = ${CHILD_SCHEDULE.length}`,
        ),
      ];
      return evaluation('SELECT municipality_ibge, y, q, person_id FROM child', f, both(f));
    },
  },
  {
    id: 'c7_womens_cancer_prevention',
    name: 'C7: care of women in cancer prevention (good-practice score)',
    program: 'Cofinanciamento APS (Portaria GM/MS 3.493/2024)',
    esfEapOnly: true,
    officialNote: 'Nota metodológica C7 "Cuidado da mulher na prevenção do câncer" (SAPS/MS, SEI 0054641718, 2026)',
    doc: 'womens-cancer-prevention.md',
    target: null,
    goodPractices: [
      { n: 1, description: 'Aged 25-64: cervical cancer screening collected, requested or evaluated in the last 36 months (HPV molecular test: 60)', score: 20 },
      { n: 2, description: 'Aged 9-14: at least one dose of the HPV vaccine given from age 9', score: 30 },
      { n: 3, description: 'Aged 14-69: a consultation by a doctor or nurse on sexual and reproductive health in the last 12 months', score: 30 },
      { n: 4, description: 'Aged 50-69: mammography requested or evaluated in the last 24 months', score: 20 },
    ],
    scoring: 'practiceProportions',
    // The longest window the note uses (the HPV molecular test); NT 8/2026 gives C7 60 months of monitoring.
    lookback: 'start60_key',
    needs: ['gender_identity', 'c7_person', 'cervical_screening', 'hpv_molecular_test', 'hpv_dose', 'sexual_health_consultation', 'mammography'],
    evaluate() {
      const age = 'CAST(FLOOR((per.last_day_key - w.birth_key) / 10000) AS INT64)';
      const cervical = `SELECT DISTINCT per.municipality_ibge, per.y, per.q, e.person_id FROM period per JOIN cervical_screening e
          ON e.municipality_ibge = per.municipality_ibge AND e.day_key >= per.start36_key AND e.day_key < per.end_key
        UNION DISTINCT
        SELECT per.municipality_ibge, per.y, per.q, e.person_id FROM period per JOIN hpv_molecular_test e
          ON e.municipality_ibge = per.municipality_ibge AND e.day_key >= per.start60_key AND e.day_key < per.end_key
        WHERE per.y >= ${HPV_MOLECULAR_FROM_YEAR}`;
      // A dose given from the 9th birthday (key + 90000) up to the period's end, however long ago.
      const vaccinated = `SELECT DISTINCT per.municipality_ibge, per.y, per.q, e.person_id FROM period per JOIN hpv_dose e ON e.municipality_ibge = per.municipality_ibge
        JOIN person p ON p.municipality_ibge = e.municipality_ibge AND p.person_id = e.person_id
        WHERE e.day_key < per.end_key AND e.day_key >= p.birth_key + 90000`;
      const f = [flag('a', cervical), flag('b', vaccinated), flag('c', inWindow('sexual_health_consultation', 'start12_key')), flag('m', inWindow('mammography', 'start24_key'))];
      const ranges: [number, number][] = [
        [25, 64],
        [9, 14],
        [14, 69],
        [50, 69],
      ];
      // People aged 9 to 69 on the quadrimestre's last day whom C7 counts (c7_person): each is in the population of
      // one or more practices. B is for the female sex only (the note's "do sexo feminino"): a transgender man of 9 to
      // 13 is in no practice's population, so he is no row.
      const denominator = `
    SELECT per.municipality_ibge, per.y, per.q, w.person_id, w.female, ${age} AS age
    FROM period per JOIN c7_person w ON w.municipality_ibge = per.municipality_ibge AND w.y = per.y AND w.q = per.q
    WHERE ${age} BETWEEN 9 AND 69`;
      const applies = (k: number) => `(${k === 1 ? 'd.female = 1 AND ' : ''}d.age BETWEEN ${ranges[k]![0]} AND ${ranges[k]![1]})`;
      return `
    SELECT d.municipality_ibge, d.y, d.q, d.person_id,
      ${f.map((x, k) => `CASE WHEN ${applies(k)} THEN ${x.col} END AS gp_${k + 1}`).join(',\n      ')},
      CASE WHEN ${f.map((x, k) => `(NOT ${applies(k)} OR ${x.col} = 1)`).join(' AND ')} THEN 1 ELSE 0 END AS in_numerator
    FROM (${denominator}) d
    ${f.map((x) => x.join).join('\n    ')}
    WHERE ${f.map((_, k) => applies(k)).join(' OR ')}`;
    },
  },
  {
    id: 'c3_pregnancy_puerperium',
    name: 'C3: care in pregnancy and the puerperium (good-practice score)',
    program: 'Cofinanciamento APS (Portaria GM/MS 3.493/2024)',
    esfEapOnly: true,
    officialNote: 'Nota metodológica C3 "Cuidado na gestação e puerpério" (SAPS/MS, SEI 0054619475, 2026)',
    doc: 'prenatal.md',
    target: null,
    goodPractices: [
      { n: 1, description: 'First prenatal consultation by a doctor or nurse by the 12th week of gestation', score: 10 },
      { n: 2, description: 'At least 7 prenatal consultations by a doctor or nurse during the pregnancy', score: 9 },
      { n: 3, description: 'At least 7 days with blood pressure measured during the pregnancy', score: 9 },
      { n: 4, description: 'At least 7 days with weight and height recorded during the pregnancy', score: 9 },
      { n: 5, description: 'At least 3 home visits by a community health agent after the first prenatal consultation', score: 9 },
      { n: 6, description: 'dTpa vaccine from the 20th week of gestation', score: 9 },
      { n: 7, description: 'Syphilis, HIV, hepatitis B and hepatitis C tests in the first trimester', score: 9 },
      { n: 8, description: 'Syphilis and HIV tests in the third trimester', score: 9 },
      { n: 9, description: 'Consultation by a doctor or nurse in the puerperium', score: 9 },
      { n: 10, description: 'Home visit by a community health agent in the puerperium', score: 9 },
      { n: 11, description: 'Oral-health care by a dentist or oral-health technician during the pregnancy', score: 9 },
    ],
    // A pregnancy and its puerperium last at most 336 days: one active in the quadrimestre began within the 16 months ending with it.
    lookback: 'start16_key',
    // E and J, the agent's home visits in pregnancy and puerperium, in full for eAP teams: the C3 note.
    eapInFull: [5, 10],
    needs: ['blood_pressure', 'child_anthropometry', 'agent_visit', 'c3_pregnancy'],
    evaluate() {
      const preg = 'e.day_n < g.end_n';
      const puer = 'e.day_n >= g.end_n';
      const has = (kind: string, when: string) => `MAX(CASE WHEN e.kind = ${sqlLiteral(kind)} AND ${when} THEN 1 ELSE 0 END)`;
      const days = (kind: string, when: string) => `COUNT(DISTINCT CASE WHEN e.kind = ${sqlLiteral(kind)} AND ${when} THEN e.day_n END)`;
      const firstTrimester = `${preg} AND e.day_n < g.lmp_n + ${FIRST_TRIMESTER_DAYS}`;
      const thirdTrimester = `${preg} AND e.day_n >= g.lmp_n + ${THIRD_TRIMESTER_FROM_DAY}`;
      const practices = [
        // A: gestational age at most 12 completed weeks (day 90), as Previne 1.
        `CASE WHEN g.first_n - g.lmp_n <= 90 THEN 1 ELSE 0 END`,
        `CASE WHEN COUNT(DISTINCT CASE WHEN e.kind = 'prenatal' AND ${preg} THEN e.event_id END) >= 7 THEN 1 ELSE 0 END`,
        `CASE WHEN ${days('blood_pressure', preg)} >= 7 THEN 1 ELSE 0 END`,
        `CASE WHEN ${days('anthropometry', preg)} >= 7 THEN 1 ELSE 0 END`,
        `CASE WHEN ${days('agent_visit', `${preg} AND e.day_n >= g.first_n`)} >= 3 THEN 1 ELSE 0 END`,
        // F: from the 20th week, read as 20 completed weeks (day 140).
        has('dtpa', `${preg} AND e.day_n >= g.lmp_n + 140`),
        `${has('syphilis', firstTrimester)} * ${has('hiv', firstTrimester)} * ${has('hepatitis_b', firstTrimester)} * ${has('hepatitis_c', firstTrimester)}`,
        `${has('syphilis', thirdTrimester)} * ${has('hiv', thirdTrimester)}`,
        has('puerperal_consultation', puer),
        has('agent_visit', puer),
        has('oral_health', preg),
      ];
      return `
    SELECT municipality_ibge, y, q, person_id, ${practices.map((_, k) => `gp_${k + 1}`).join(', ')},
      CASE WHEN ${practices.map((_, k) => `gp_${k + 1} = 1`).join(' AND ')} THEN 1 ELSE 0 END AS in_numerator
    FROM (
      SELECT g.municipality_ibge, g.y, g.q, g.person_id,
        ${practices.map((x, k) => `${x} AS gp_${k + 1}`).join(',\n        ')}
      FROM c3_pregnancy g
      LEFT JOIN c3_event e ON e.municipality_ibge = g.municipality_ibge AND e.person_id = g.person_id
        AND e.day_n >= g.lmp_n AND e.day_n < g.end_n + ${PUERPERIUM_DAYS} AND e.day_n <= g.last_day_n
      GROUP BY g.municipality_ibge, g.y, g.q, g.person_id, g.lmp_n, g.end_n, g.first_n
    ) practices`;
    },
  },
];

export function getIndicator(id: string): Indicator {
  const i = INDICATORS.find((x) => x.id === id);
  if (!i) throw new Error(`unknown indicator "${id}" (known: ${INDICATORS.map((x) => x.id).join(', ')})`);
  return i;
}

/** Diabetic foot examination (SIGTAP 03.01.04.009-5). */
const FOOT_EXAM = ['0301040095'];
/** CBO of community health agents (515105) and health-agent technicians (322255). */
const AGENT_CBO = ['515105', '322255'];

type EventName =
  | 'hypertension_consultation'
  | 'diabetes_consultation'
  | 'hypertension_registration'
  | 'diabetes_registration'
  | 'doctor_or_nurse_consultation'
  | 'blood_pressure'
  | 'hba1c'
  | 'cytology_collection'
  | 'anthropometry'
  | 'agent_visit'
  | 'foot_exam'
  | 'third_dose'
  | 'pregnancy'
  | 'syphilis_exam'
  | 'hiv_exam'
  | 'dental_consultation'
  | 'influenza_dose'
  | 'woman'
  | 'gender_identity'
  | 'c7_person'
  | 'cervical_screening'
  | 'hpv_molecular_test'
  | 'hpv_dose'
  | 'sexual_health_consultation'
  | 'mammography'
  | 'child'
  | 'child_care_consultation'
  | 'child_anthropometry'
  | 'child_dose'
  | 'c3_pregnancy';

/** The HPV molecular test counts for C7 from the first quadrimestre of 2026 (the note's footnote 4). */
const HPV_MOLECULAR_FROM_YEAR = 2026;

/**
 * (municipality_ibge, person_id, day_key): a procedure performed (procedure sheet), or requested or
 * evaluated in a consultation — any professional (C7 note, item 4.5: any qualified professional's record).
 */
function procedureCte(dialect: SqlDialect, name: string, codes: readonly string[]): string {
  const raw = (t: string) => tableRef(dialect, 'raw', t);
  return `
${name} AS (
  SELECT r.municipality_ibge, r.person_id, f.co_dim_tempo AS day_key
  FROM ${raw('tb_fat_proced_atend_proced')} f
  JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge AND pr.co_seq_dim_procedimento = f.co_dim_procedimento
  JOIN record r ON r.municipality_ibge = f._municipality_ibge AND r.citizen_id = f.co_fat_cidadao_pec
  WHERE pr.co_proced IN (${list(codes)}) AND ${realDay('f.co_dim_tempo')}
  UNION ALL
  SELECT r.municipality_ibge, r.person_id, f.co_dim_tempo
  FROM ${raw('tb_fat_atd_ind_procedimentos')} f
  JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge
    AND (pr.co_seq_dim_procedimento = f.co_dim_procedimento_solicitado OR pr.co_seq_dim_procedimento = f.co_dim_procedimento_avaliado)
  JOIN record r ON r.municipality_ibge = f._municipality_ibge AND r.citizen_id = f.co_fat_cidadao_pec
  WHERE pr.co_proced IN (${list(codes)}) AND ${realDay('f.co_dim_tempo')}
)`;
}

/** Influenza vaccine by its national code (tb_dim_imunobiologico.nu_identificador; to confirm against the SI-PNI list). */
const INFLUENZA_VACCINES = ['33'];

/** CBO family of dentists (2232: e.g. 223293 family-health dentist, 223208 general dentist). */
const DENTIST_CBO_FAMILY = ['2232'];

/** A pregnancy lasts at most 294 days (42 weeks) from the last menstrual period. */
const PREGNANCY_DAYS = 294;
/** The puerperium: the 42 days from the end of the pregnancy (C3 note, item 17). */
const PUERPERIUM_DAYS = 42;
/** C3 trimesters (the note does not define them): the first up to 13 weeks and 6 days, the third from 28 weeks. */
const FIRST_TRIMESTER_DAYS = 98;
const THIRD_TRIMESTER_FROM_DAY = 196;
/** CBO families of oral-health care in C3 practice K: dentists (2232) and oral-health technicians (3224). */
const ORAL_HEALTH_CBO_FAMILY = ['2232', '3224'];

/** (municipality_ibge, person_id, day_n): an exam's rapid test performed, or the exam requested or evaluated. */
function examCte(dialect: SqlDialect, name: string, performed: readonly string[], requested: readonly string[]): string {
  const raw = (t: string) => tableRef(dialect, 'raw', t);
  return `
${name} AS (
  SELECT r.municipality_ibge, r.person_id, ${dayNumber(dialect, 'f.co_dim_tempo')} AS day_n
  FROM ${raw('tb_fat_proced_atend_proced')} f
  JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge AND pr.co_seq_dim_procedimento = f.co_dim_procedimento
  JOIN record r ON r.municipality_ibge = f._municipality_ibge AND r.citizen_id = f.co_fat_cidadao_pec
  WHERE pr.co_proced IN (${list(performed)}) AND ${realDay('f.co_dim_tempo')}
  UNION ALL
  SELECT r.municipality_ibge, r.person_id, ${dayNumber(dialect, 'f.co_dim_tempo')}
  FROM ${raw('tb_fat_atd_ind_procedimentos')} f
  JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge
    AND (pr.co_seq_dim_procedimento = f.co_dim_procedimento_solicitado OR pr.co_seq_dim_procedimento = f.co_dim_procedimento_avaliado)
  JOIN record r ON r.municipality_ibge = f._municipality_ibge AND r.citizen_id = f.co_fat_cidadao_pec
  WHERE pr.co_proced IN (${list(requested)}) AND ${realDay('f.co_dim_tempo')}
)`;
}

/** C3 practices G and H: the test codes of each agent (a code is one agent's only). */
const C3_TESTS = [
  { kind: 'syphilis', codes: PROCEDURE_CODES.c3Syphilis },
  { kind: 'hiv', codes: PROCEDURE_CODES.c3Hiv },
  { kind: 'hepatitis_b', codes: PROCEDURE_CODES.c3HepatitisB },
  { kind: 'hepatitis_c', codes: PROCEDURE_CODES.c3HepatitisC },
] as const;

/**
 * (municipality_ibge, person_id, consultation_id, day_n[, lmp_n]): consultations by a doctor or nurse
 * recording one of `codes`; with `withLmp`, the LMP as a day number — the one informed, else the
 * consultation's day less the gestational age informed in weeks (1–42), else NULL.
 */
function c3ConsultationCte(dialect: SqlDialect, name: string, codes: ConditionCodes, withLmp: boolean): string {
  const day = dayNumber(dialect, 'a.co_dim_tempo');
  const lmp = `,
    CASE WHEN ${realDay('a.co_dim_tempo_dum')} THEN ${dayNumber(dialect, 'a.co_dim_tempo_dum')}
         WHEN a.nu_idade_gestacional_semanas BETWEEN 1 AND 42 THEN ${day} - 7 * a.nu_idade_gestacional_semanas END AS lmp_n`;
  return conditionConsultationCte(dialect, name, codes, `a.co_seq_fat_atd_ind AS consultation_id, ${day} AS day_n${withLmp ? lmp : ''}`);
}

/** The event CTEs, each (municipality_ibge, person_id, day_key) unless said otherwise. */
function eventCtes(dialect: SqlDialect): Record<EventName, string> {
  const raw = (t: string) => tableRef(dialect, 'raw', t);
  const performed = (name: string, codes: readonly string[]) => `
${name} AS (
  SELECT r.municipality_ibge, r.person_id, f.co_dim_tempo AS day_key
  FROM ${raw('tb_fat_proced_atend_proced')} f
  JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge AND pr.co_seq_dim_procedimento = f.co_dim_procedimento
  JOIN record r ON r.municipality_ibge = f._municipality_ibge AND r.citizen_id = f.co_fat_cidadao_pec
  WHERE pr.co_proced IN (${list(codes)})
)`;
  return {
    hypertension_consultation: conditionConsultationCte(dialect, 'hypertension_consultation', CONDITION_CODES.hypertension),
    diabetes_consultation: conditionConsultationCte(dialect, 'diabetes_consultation', CONDITION_CODES.diabetes),
    hypertension_registration: winningRegistrationCte(dialect, 'hypertension_registration', 'st_hipertensao_arterial'),
    diabetes_registration: winningRegistrationCte(dialect, 'diabetes_registration', 'st_diabete'),
    doctor_or_nurse_consultation: `
doctor_or_nurse_consultation AS (
  SELECT r.municipality_ibge, r.person_id, a.co_dim_tempo AS day_key
  FROM ${raw('tb_fat_atendimento_individual')} a
  JOIN ${raw('tb_dim_cbo')} cbo ON cbo._municipality_ibge = a._municipality_ibge AND cbo.co_seq_dim_cbo = a.co_dim_cbo_1
  JOIN record r ON r.municipality_ibge = a._municipality_ibge AND r.citizen_id = a.co_fat_cidadao_pec
  WHERE SUBSTR(cbo.nu_cbo, 1, 4) IN (${list(DOCTOR_OR_NURSE_CBO)})
)`,
    blood_pressure: `
blood_pressure AS (
  -- The measurement procedure performed, or a pressure recorded in a consultation (any professional).
  SELECT r.municipality_ibge, r.person_id, f.co_dim_tempo AS day_key
  FROM ${raw('tb_fat_proced_atend_proced')} f
  JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge AND pr.co_seq_dim_procedimento = f.co_dim_procedimento
  JOIN record r ON r.municipality_ibge = f._municipality_ibge AND r.citizen_id = f.co_fat_cidadao_pec
  WHERE pr.co_proced IN (${list(PROCEDURE_CODES.bloodPressure)})
  UNION ALL
  SELECT r.municipality_ibge, r.person_id, a.co_dim_tempo
  FROM ${raw('tb_fat_atendimento_individual')} a
  JOIN record r ON r.municipality_ibge = a._municipality_ibge AND r.citizen_id = a.co_fat_cidadao_pec
  WHERE a.nu_pressao_sistolica IS NOT NULL
)`,
    hba1c: `
hba1c AS (
  -- HbA1c requested or evaluated in a consultation, or recorded on the procedure sheet.
  SELECT r.municipality_ibge, r.person_id, f.co_dim_tempo AS day_key
  FROM ${raw('tb_fat_atd_ind_procedimentos')} f
  JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge
    AND (pr.co_seq_dim_procedimento = f.co_dim_procedimento_solicitado OR pr.co_seq_dim_procedimento = f.co_dim_procedimento_avaliado)
  JOIN record r ON r.municipality_ibge = f._municipality_ibge AND r.citizen_id = f.co_fat_cidadao_pec
  WHERE pr.co_proced IN (${list(PROCEDURE_CODES.hba1c)})
  UNION ALL
  SELECT r.municipality_ibge, r.person_id, f.co_dim_tempo
  FROM ${raw('tb_fat_proced_atend_proced')} f
  JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge AND pr.co_seq_dim_procedimento = f.co_dim_procedimento
  JOIN record r ON r.municipality_ibge = f._municipality_ibge AND r.citizen_id = f.co_fat_cidadao_pec
  WHERE pr.co_proced IN (${list(PROCEDURE_CODES.hba1c)})
)`,
    cytology_collection: performed('cytology_collection', PROCEDURE_CODES.cytologyCollection),
    foot_exam: performed('foot_exam', FOOT_EXAM),
    anthropometry: `
anthropometry AS (
  -- Weight and height in the same consultation record: the same day by construction.
  SELECT r.municipality_ibge, r.person_id, a.co_dim_tempo AS day_key
  FROM ${raw('tb_fat_atendimento_individual')} a
  JOIN record r ON r.municipality_ibge = a._municipality_ibge AND r.citizen_id = a.co_fat_cidadao_pec
  WHERE a.nu_peso IS NOT NULL AND a.nu_altura IS NOT NULL
)`,
    agent_visit: `
agent_visit AS (
  -- child_motive: the visit records the motive "newborn" or "child" (C2 counts only those).
  SELECT r.municipality_ibge, r.person_id, v.co_dim_tempo AS day_key,
    CASE WHEN v.st_acomp_recem_nascido = 1 OR v.st_acomp_crianca = 1 THEN 1 ELSE 0 END AS child_motive
  FROM ${raw('tb_fat_visita_domiciliar')} v
  JOIN ${raw('tb_dim_cbo')} cbo ON cbo._municipality_ibge = v._municipality_ibge AND cbo.co_seq_dim_cbo = v.co_dim_cbo
  JOIN record r ON r.municipality_ibge = v._municipality_ibge AND r.citizen_id = v.co_fat_cidadao_pec
  WHERE cbo.nu_cbo IN (${list(AGENT_CBO)}) AND ${realDay('v.co_dim_tempo')}
),
agent_visits_12 AS (
  -- At least two visits in the 12 months, the first and the last at least 30 days apart.
  SELECT per.municipality_ibge, per.y, per.q, e.person_id
  FROM period per JOIN agent_visit e
    ON e.municipality_ibge = per.municipality_ibge AND e.day_key >= per.start12_key AND e.day_key < per.end_key
  GROUP BY per.municipality_ibge, per.y, per.q, e.person_id
  HAVING ${daysBetween(dialect, dayKeyDate('MIN(e.day_key)'), dayKeyDate('MAX(e.day_key)'))} >= 30
)`,
    pregnancy: `
prenatal_consultation AS (
  -- Consultations by a doctor or nurse recording a pregnancy code, with their day and LMP as day numbers.
  SELECT DISTINCT r.municipality_ibge, r.person_id, a.co_seq_fat_atd_ind AS consultation_id,
    ${dayNumber(dialect, 'a.co_dim_tempo')} AS day_n,
    CASE WHEN ${realDay('a.co_dim_tempo_dum')} THEN ${dayNumber(dialect, 'a.co_dim_tempo_dum')} END AS dum_n
  FROM ${raw('tb_fat_atd_ind_problemas')} p
  JOIN ${raw('tb_fat_atendimento_individual')} a ON a._municipality_ibge = p._municipality_ibge AND a.co_seq_fat_atd_ind = p.co_fat_atd_ind
  JOIN ${raw('tb_dim_cbo')} cbo ON cbo._municipality_ibge = a._municipality_ibge AND cbo.co_seq_dim_cbo = a.co_dim_cbo_1
  LEFT JOIN ${raw('tb_dim_cid')} cid ON cid._municipality_ibge = p._municipality_ibge AND cid.co_seq_dim_cid = p.co_dim_cid
  LEFT JOIN ${raw('tb_dim_ciap')} ciap ON ciap._municipality_ibge = p._municipality_ibge AND ciap.co_seq_dim_ciap = p.co_dim_ciap
  JOIN record r ON r.municipality_ibge = a._municipality_ibge AND r.citizen_id = a.co_fat_cidadao_pec
  WHERE SUBSTR(cbo.nu_cbo, 1, 4) IN (${list(DOCTOR_OR_NURSE_CBO)})
    AND ${realDay('a.co_dim_tempo')}
    AND ${conditionPredicate(CONDITION_CODES.pregnancy)}
),
pregnancy AS (
  -- (municipality_ibge, y, q, person_id, dum_n): the pregnancies that end in each quadrimestre — the
  -- LMP informed at the earliest prenatal consultation among those whose LMP + 294 days falls in it.
  SELECT municipality_ibge, y, q, person_id, dum_n
  FROM (
    SELECT per.municipality_ibge, per.y, per.q, c.person_id, c.dum_n,
      ROW_NUMBER() OVER (PARTITION BY per.municipality_ibge, per.y, per.q, c.person_id ORDER BY c.day_n, c.dum_n) AS rn
    FROM period per JOIN prenatal_consultation c ON c.municipality_ibge = per.municipality_ibge
    WHERE c.dum_n IS NOT NULL AND c.dum_n + ${PREGNANCY_DAYS} BETWEEN per.first_day_n AND per.last_day_n
  ) first_informed
  WHERE rn = 1
)`,
    syphilis_exam: examCte(dialect, 'syphilis_exam', PROCEDURE_CODES.syphilisPerformed, PROCEDURE_CODES.syphilisExam),
    hiv_exam: examCte(dialect, 'hiv_exam', PROCEDURE_CODES.hivPerformed, PROCEDURE_CODES.hivExam),
    dental_consultation: `
dental_consultation AS (
  -- (municipality_ibge, person_id, day_n): dental consultations by a dentist (the oral-health technician, CBO 3224, does not count for Previne 3).
  SELECT r.municipality_ibge, r.person_id, ${dayNumber(dialect, 'o.co_dim_tempo')} AS day_n
  FROM ${raw('tb_fat_atendimento_odonto')} o
  JOIN ${raw('tb_dim_cbo')} cbo ON cbo._municipality_ibge = o._municipality_ibge AND cbo.co_seq_dim_cbo = o.co_dim_cbo_1
  JOIN record r ON r.municipality_ibge = o._municipality_ibge AND r.citizen_id = o.co_fat_cidadao_pec
  WHERE SUBSTR(cbo.nu_cbo, 1, 4) IN (${list(DENTIST_CBO_FAMILY)}) AND ${realDay('o.co_dim_tempo')}
)`,
    influenza_dose: `
influenza_dose AS (
  -- Any dose of the influenza vaccine, dated by the day it was applied.
  SELECT r.municipality_ibge, r.person_id, v.co_dim_tempo_vacina_aplicada AS day_key
  FROM ${raw('tb_fat_vacinacao_vacina')} v
  JOIN ${raw('tb_dim_imunobiologico')} im ON im._municipality_ibge = v._municipality_ibge AND im.co_seq_dim_imunobiologico = v.co_dim_imunobiologico
  JOIN record r ON r.municipality_ibge = v._municipality_ibge AND r.citizen_id = v.co_fat_cidadao_pec
  WHERE im.nu_identificador IN (${list(INFLUENZA_VACCINES)}) AND ${realDay('v.co_dim_tempo_vacina_aplicada')}
)`,
    third_dose: `
third_dose AS (
  -- (municipality_ibge, person_id, vaccine, day_key): third doses of the indicator's vaccines, by their national codes.
  SELECT r.municipality_ibge, r.person_id, im.nu_identificador AS vaccine, v.co_dim_tempo_vacina_aplicada AS day_key
  FROM ${raw('tb_fat_vacinacao_vacina')} v
  JOIN ${raw('tb_dim_imunobiologico')} im ON im._municipality_ibge = v._municipality_ibge AND im.co_seq_dim_imunobiologico = v.co_dim_imunobiologico
  JOIN ${raw('tb_dim_dose_imunobiologico')} d ON d._municipality_ibge = v._municipality_ibge AND d.co_seq_dim_dose_imunobiologico = v.co_dim_dose_imunobiologico
  JOIN record r ON r.municipality_ibge = v._municipality_ibge AND r.citizen_id = v.co_fat_cidadao_pec
  WHERE im.nu_identificador IN (${list([VACCINE_CODES.pentavalent, VACCINE_CODES.inactivatedPolio])})
    AND d.nu_identificador = ${sqlLiteral(VACCINE_CODES.thirdDose)}
    AND ${realDay('v.co_dim_tempo_vacina_aplicada')}
)`,
    cervical_screening: `${procedureCte(dialect, 'cervical_screening_procedure', PROCEDURE_CODES.cervicalScreening)},${conditionConsultationCte(
      dialect,
      'cervical_screening_consultation',
      CONDITION_CODES.cervicalScreening,
    )},
cervical_screening AS (
  SELECT municipality_ibge, person_id, day_key FROM cervical_screening_procedure
  UNION ALL
  SELECT municipality_ibge, person_id, day_key FROM cervical_screening_consultation
)`,
    hpv_molecular_test: procedureCte(dialect, 'hpv_molecular_test', PROCEDURE_CODES.hpvMolecularTest),
    mammography: `${procedureCte(dialect, 'mammography_procedure', PROCEDURE_CODES.mammography)},${conditionConsultationCte(
      dialect,
      'mammography_consultation',
      CONDITION_CODES.breastScreening,
    )},
mammography AS (
  SELECT municipality_ibge, person_id, day_key FROM mammography_procedure
  UNION ALL
  SELECT municipality_ibge, person_id, day_key FROM mammography_consultation
)`,
    sexual_health_consultation: conditionConsultationCte(dialect, 'sexual_health_consultation', CONDITION_CODES.sexualReproductiveHealth),
    hpv_dose: `
hpv_dose AS (
  -- Any dose of an HPV vaccine, applied or transcribed, dated by the day it was applied.
  SELECT r.municipality_ibge, r.person_id, v.co_dim_tempo_vacina_aplicada AS day_key
  FROM ${raw('tb_fat_vacinacao_vacina')} v
  JOIN ${raw('tb_dim_imunobiologico')} im ON im._municipality_ibge = v._municipality_ibge AND im.co_seq_dim_imunobiologico = v.co_dim_imunobiologico
  JOIN record r ON r.municipality_ibge = v._municipality_ibge AND r.citizen_id = v.co_fat_cidadao_pec
  WHERE im.nu_identificador IN (${list(VACCINE_CODES.hpv)}) AND ${realDay('v.co_dim_tempo_vacina_aplicada')}
)`,
    child: `
child AS (
  -- Each period's children up to age two at some day of it: born by its last day, second birthday on or after its first.
  SELECT per.municipality_ibge, per.y, per.q, per.end_key, p.person_id, p.birth_key,
    ${dayNumber(dialect, 'p.birth_key')} AS birth_n,
    -- Six months of life as a day key: month + 6, or the next year's month - 6 (an invalid day like 0231 still orders right).
    CASE WHEN MOD(CAST(FLOOR(p.birth_key / 100) AS INT64), 100) <= 6 THEN p.birth_key + 600 ELSE p.birth_key + 9400 END AS six_months_key
  FROM period per JOIN person p ON p.municipality_ibge = per.municipality_ibge
  WHERE p.birth_key IS NOT NULL AND p.birth_key <= per.last_day_key AND p.birth_key + 20000 >= per.first_day_key
)`,
    child_care_consultation: `${conditionConsultationCte(dialect, 'child_care_consultation_day', CONDITION_CODES.childCare)},
child_care_consultation AS (
  SELECT municipality_ibge, person_id, day_key, ${dayNumber(dialect, 'day_key')} AS day_n FROM child_care_consultation_day
)`,
    child_anthropometry: `
child_anthropometry AS (
  -- Days with weight and height recorded: both in one consultation record (any professional), the
  -- anthropometric or growth evaluation procedure, or weight and height measured on the same day.
  SELECT r.municipality_ibge, r.person_id, a.co_dim_tempo AS day_key, ${dayNumber(dialect, 'a.co_dim_tempo')} AS day_n
  FROM ${raw('tb_fat_atendimento_individual')} a
  JOIN record r ON r.municipality_ibge = a._municipality_ibge AND r.citizen_id = a.co_fat_cidadao_pec
  WHERE a.nu_peso IS NOT NULL AND a.nu_altura IS NOT NULL AND ${realDay('a.co_dim_tempo')}
  UNION ALL
  SELECT municipality_ibge, person_id, day_key, ${dayNumber(dialect, 'day_key')}
  FROM (
    SELECT r.municipality_ibge, r.person_id, f.co_dim_tempo AS day_key,
      MAX(CASE WHEN pr.co_proced IN (${list(PROCEDURE_CODES.childAnthropometry)}) THEN 1 ELSE 0 END) AS whole,
      MAX(CASE WHEN pr.co_proced IN (${list(PROCEDURE_CODES.weightMeasured)}) THEN 1 ELSE 0 END) AS weight,
      MAX(CASE WHEN pr.co_proced IN (${list(PROCEDURE_CODES.heightMeasured)}) THEN 1 ELSE 0 END) AS height
    FROM ${raw('tb_fat_proced_atend_proced')} f
    JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge AND pr.co_seq_dim_procedimento = f.co_dim_procedimento
    JOIN record r ON r.municipality_ibge = f._municipality_ibge AND r.citizen_id = f.co_fat_cidadao_pec
    WHERE pr.co_proced IN (${list([...PROCEDURE_CODES.childAnthropometry, ...PROCEDURE_CODES.weightMeasured, ...PROCEDURE_CODES.heightMeasured])})
      AND ${realDay('f.co_dim_tempo')}
    GROUP BY r.municipality_ibge, r.person_id, f.co_dim_tempo
  ) measured
  WHERE whole = 1 OR (weight = 1 AND height = 1)
)`,
    child_dose: `
child_agent_visit AS (
  -- Agent visits recorded with the motive "newborn" or "child" (C2 practice D).
  SELECT municipality_ibge, person_id, day_key, ${dayNumber(dialect, 'day_key')} AS day_n FROM agent_visit WHERE child_motive = 1
),
child_dose AS (
  -- (municipality_ibge, person_id, component, day_key, day_n): one row per component and day a child got a dose of it.
  SELECT DISTINCT r.municipality_ibge, r.person_id, s.component, v.co_dim_tempo_vacina_aplicada AS day_key,
    ${dayNumber(dialect, 'v.co_dim_tempo_vacina_aplicada')} AS day_n
  FROM ${raw('tb_fat_vacinacao_vacina')} v
  JOIN ${raw('tb_dim_imunobiologico')} im ON im._municipality_ibge = v._municipality_ibge AND im.co_seq_dim_imunobiologico = v.co_dim_imunobiologico
  JOIN (${CHILD_SCHEDULE.flatMap((c) => c.codes.map((code) => `SELECT ${sqlLiteral(code)} AS code, ${sqlLiteral(c.component)} AS component`)).join(' UNION ALL ')}) s
    ON s.code = LTRIM(im.nu_identificador, '0')
  JOIN record r ON r.municipality_ibge = v._municipality_ibge AND r.citizen_id = v.co_fat_cidadao_pec
  WHERE ${realDay('v.co_dim_tempo_vacina_aplicada')}
),
child_component_met AS (
  -- Per period and child, the components with every dose: days counted when 30 or more days after the
  -- previous dose of the component (where the schedule asks for it); MMR from the first birthday.
  SELECT municipality_ibge, y, q, person_id, component
  FROM (
    SELECT c.municipality_ibge, c.y, c.q, c.person_id, d.component, d.day_n,
      LAG(d.day_n) OVER (PARTITION BY c.municipality_ibge, c.y, c.q, c.person_id, d.component ORDER BY d.day_n) AS previous_n
    FROM child c JOIN child_dose d ON d.municipality_ibge = c.municipality_ibge AND d.person_id = c.person_id
    WHERE d.day_key >= c.birth_key AND d.day_key < c.end_key AND (d.component <> 'mmr' OR d.day_key >= c.birth_key + 10000)
  ) doses
  WHERE previous_n IS NULL OR day_n - previous_n >= CASE component ${CHILD_SCHEDULE.map((c) => `WHEN ${sqlLiteral(c.component)} THEN ${c.spaced ? 30 : 1}`).join(' ')} END
  GROUP BY municipality_ibge, y, q, person_id, component
  HAVING COUNT(*) >= CASE component ${CHILD_SCHEDULE.map((c) => `WHEN ${sqlLiteral(c.component)} THEN ${c.doses}`).join(' ')} END
)`,
    c3_pregnancy: `${c3ConsultationCte(dialect, 'c3_prenatal_consultation', CONDITION_CODES.c3Pregnancy, true)},
c3_outcome AS (
  -- The end of a pregnancy as recorded (any professional): the pregnancy problem marked resolved in the problem list,
  -- dated by its end day (the PEC's "Data de desfecho da gestação"), or a delivery or abortion code, dated by the
  -- consultation. recorded_n: the day the record was made.
  SELECT DISTINCT r.municipality_ibge, r.person_id,
    CASE WHEN ${conditionPredicate(CONDITION_CODES.c3Abortion)} THEN 'abortion'
         WHEN ${conditionPredicate(CONDITION_CODES.c3Delivery)} THEN 'delivery'
         ELSE 'resolved' END AS kind,
    CASE WHEN ${conditionPredicate(CONDITION_CODES.c3Abortion)} OR ${conditionPredicate(CONDITION_CODES.c3Delivery)}
         THEN ${dayNumber(dialect, 'a.co_dim_tempo')} ELSE ${dayNumber(dialect, 'p.co_dim_data_fim_problema')} END AS day_n,
    ${dayNumber(dialect, 'a.co_dim_tempo')} AS recorded_n
  FROM ${raw('tb_fat_atd_ind_problemas')} p
  JOIN ${raw('tb_fat_atendimento_individual')} a ON a._municipality_ibge = p._municipality_ibge AND a.co_seq_fat_atd_ind = p.co_fat_atd_ind
  LEFT JOIN ${raw('tb_dim_cid')} cid ON cid._municipality_ibge = p._municipality_ibge AND cid.co_seq_dim_cid = p.co_dim_cid
  LEFT JOIN ${raw('tb_dim_ciap')} ciap ON ciap._municipality_ibge = p._municipality_ibge AND ciap.co_seq_dim_ciap = p.co_dim_ciap
  JOIN record r ON r.municipality_ibge = a._municipality_ibge AND r.citizen_id = a.co_fat_cidadao_pec
  WHERE ${realDay('a.co_dim_tempo')}
    AND (${conditionPredicate(CONDITION_CODES.c3Delivery)} OR ${conditionPredicate(CONDITION_CODES.c3Abortion)}
      OR (${conditionPredicate(CONDITION_CODES.c3Pregnancy)} AND ${realDay('p.co_dim_data_fim_problema')}))
),
c3_candidate AS (
  -- Per period and person, each LMP informed (or derived from the gestational age) by a prenatal consultation up to
  -- the period's last day, within 294 days of it, whose pregnancy and puerperium at their longest (LMP + 336 days)
  -- reach the period; informed_n: the first consultation giving it.
  SELECT per.municipality_ibge, per.y, per.q, per.first_day_n, per.last_day_n, c.person_id, c.lmp_n, MIN(c.day_n) AS informed_n
  FROM period per JOIN c3_prenatal_consultation c ON c.municipality_ibge = per.municipality_ibge
  WHERE c.lmp_n IS NOT NULL AND c.day_n >= c.lmp_n AND c.day_n < c.lmp_n + ${PREGNANCY_DAYS} AND c.day_n <= per.last_day_n
    AND c.lmp_n <= per.last_day_n AND c.lmp_n + ${PREGNANCY_DAYS + PUERPERIUM_DAYS} > per.first_day_n
  GROUP BY per.municipality_ibge, per.y, per.q, per.first_day_n, per.last_day_n, c.person_id, c.lmp_n
),
c3_ended AS (
  -- Per candidate, the first outcome of each kind after its LMP, within 294 days, recorded by the period's last day.
  SELECT g.municipality_ibge, g.y, g.q, g.person_id, g.lmp_n,
    MIN(CASE WHEN o.kind = 'resolved' THEN o.day_n END) AS resolved_n,
    MIN(CASE WHEN o.kind = 'delivery' THEN o.day_n END) AS delivery_n,
    MIN(CASE WHEN o.kind = 'abortion' THEN o.day_n END) AS abortion_n
  FROM c3_candidate g JOIN c3_outcome o ON o.municipality_ibge = g.municipality_ibge AND o.person_id = g.person_id
  WHERE o.day_n > g.lmp_n AND o.day_n < g.lmp_n + ${PREGNANCY_DAYS} AND o.recorded_n <= g.last_day_n
  GROUP BY g.municipality_ibge, g.y, g.q, g.person_id, g.lmp_n
),
c3_bounds AS (
  -- Pregnant on [lmp_n, end_n), puerperal on [end_n, end_n + 42). end_n: the recorded outcome date (the pregnancy
  -- problem resolved), else the first delivery code, else LMP + 294 days. A candidate with an abortion code, unless a
  -- delivery code came first, is excluded, and so is one whose puerperium ended before the period. Of the candidates
  -- left, the period keeps the one informed first (one pregnancy per person and period): a pregnancy lost or ended
  -- before the period does not hide the next one.
  SELECT municipality_ibge, y, q, person_id, lmp_n, last_day_n, end_n
  FROM (
    SELECT g.municipality_ibge, g.y, g.q, g.person_id, g.lmp_n, g.last_day_n,
      COALESCE(x.resolved_n, x.delivery_n, g.lmp_n + ${PREGNANCY_DAYS}) AS end_n,
      ROW_NUMBER() OVER (PARTITION BY g.municipality_ibge, g.y, g.q, g.person_id ORDER BY g.informed_n, g.lmp_n) AS rn
    FROM c3_candidate g
    LEFT JOIN c3_ended x ON x.municipality_ibge = g.municipality_ibge AND x.y = g.y AND x.q = g.q AND x.person_id = g.person_id AND x.lmp_n = g.lmp_n
    WHERE (x.abortion_n IS NULL OR x.abortion_n > x.delivery_n)
      AND COALESCE(x.resolved_n, x.delivery_n, g.lmp_n + ${PREGNANCY_DAYS}) + ${PUERPERIUM_DAYS} > g.first_day_n
  ) active
  WHERE rn = 1
),
c3_pregnancy AS (
  -- (municipality_ibge, y, q, person_id, lmp_n, end_n, last_day_n, first_n): each period's active pregnancy and the day of
  -- its first prenatal consultation (NULL when every one came after the end).
  SELECT b.municipality_ibge, b.y, b.q, b.person_id, b.lmp_n, b.end_n, b.last_day_n, MIN(c.day_n) AS first_n
  FROM c3_bounds b
  LEFT JOIN c3_prenatal_consultation c ON c.municipality_ibge = b.municipality_ibge AND c.person_id = b.person_id
    AND c.day_n >= b.lmp_n AND c.day_n < b.end_n AND c.day_n <= b.last_day_n
  GROUP BY b.municipality_ibge, b.y, b.q, b.person_id, b.lmp_n, b.end_n, b.last_day_n
),${c3ConsultationCte(dialect, 'c3_puerperal_consultation', CONDITION_CODES.c3Puerperium, false)},
c3_event AS (
  -- (municipality_ibge, person_id, kind, day_n, event_id): what C3's practices count, one kind each.
  SELECT municipality_ibge, person_id, 'prenatal' AS kind, day_n, consultation_id AS event_id FROM c3_prenatal_consultation
  UNION ALL
  SELECT municipality_ibge, person_id, 'puerperal_consultation', day_n, consultation_id FROM c3_puerperal_consultation
  UNION ALL
  SELECT municipality_ibge, person_id, 'blood_pressure', ${dayNumber(dialect, 'day_key')}, CAST(NULL AS INT64) FROM blood_pressure WHERE ${realDay('day_key')}
  UNION ALL
  SELECT municipality_ibge, person_id, 'anthropometry', day_n, CAST(NULL AS INT64) FROM child_anthropometry
  UNION ALL
  SELECT municipality_ibge, person_id, 'agent_visit', ${dayNumber(dialect, 'day_key')}, CAST(NULL AS INT64) FROM agent_visit
  UNION ALL
  SELECT r.municipality_ibge, r.person_id, 'dtpa', ${dayNumber(dialect, 'v.co_dim_tempo_vacina_aplicada')}, CAST(NULL AS INT64)
  FROM ${raw('tb_fat_vacinacao_vacina')} v
  JOIN ${raw('tb_dim_imunobiologico')} im ON im._municipality_ibge = v._municipality_ibge AND im.co_seq_dim_imunobiologico = v.co_dim_imunobiologico
  JOIN record r ON r.municipality_ibge = v._municipality_ibge AND r.citizen_id = v.co_fat_cidadao_pec
  WHERE LTRIM(im.nu_identificador, '0') = ${sqlLiteral(VACCINE_CODES.dtpaAdult)} AND ${realDay('v.co_dim_tempo_vacina_aplicada')}
  UNION ALL
  SELECT r.municipality_ibge, r.person_id, 'oral_health', ${dayNumber(dialect, 'o.co_dim_tempo')}, CAST(NULL AS INT64)
  FROM ${raw('tb_fat_atendimento_odonto')} o
  JOIN ${raw('tb_dim_cbo')} cbo ON cbo._municipality_ibge = o._municipality_ibge AND cbo.co_seq_dim_cbo = o.co_dim_cbo_1
  JOIN record r ON r.municipality_ibge = o._municipality_ibge AND r.citizen_id = o.co_fat_cidadao_pec
  WHERE SUBSTR(cbo.nu_cbo, 1, 4) IN (${list(ORAL_HEALTH_CBO_FAMILY)}) AND ${realDay('o.co_dim_tempo')}
  UNION ALL
  -- G and H: a rapid test performed (procedure sheet) or an exam evaluated in a consultation (a request alone does not count).
  SELECT municipality_ibge, person_id, kind, ${dayNumber(dialect, 'day_key')}, CAST(NULL AS INT64)
  FROM (
    SELECT r.municipality_ibge, r.person_id, pr.co_proced, f.co_dim_tempo AS day_key
    FROM ${raw('tb_fat_proced_atend_proced')} f
    JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge AND pr.co_seq_dim_procedimento = f.co_dim_procedimento
    JOIN record r ON r.municipality_ibge = f._municipality_ibge AND r.citizen_id = f.co_fat_cidadao_pec
    WHERE pr.co_proced IN (${list(C3_TESTS.flatMap((t) => t.codes))})
    UNION ALL
    SELECT r.municipality_ibge, r.person_id, pr.co_proced, f.co_dim_tempo
    FROM ${raw('tb_fat_atd_ind_procedimentos')} f
    JOIN ${raw('tb_dim_procedimento')} pr ON pr._municipality_ibge = f._municipality_ibge AND pr.co_seq_dim_procedimento = f.co_dim_procedimento_avaliado
    JOIN record r ON r.municipality_ibge = f._municipality_ibge AND r.citizen_id = f.co_fat_cidadao_pec
    WHERE pr.co_proced IN (${list(C3_TESTS.flatMap((t) => t.codes))})
  ) tested
  JOIN (${C3_TESTS.flatMap((t) => t.codes.map((c) => `SELECT ${sqlLiteral(c)} AS code, ${sqlLiteral(t.kind)} AS kind`)).join(' UNION ALL ')}) k ON k.code = tested.co_proced
  WHERE ${realDay('day_key')}
)`,
    woman: `
woman AS (
  -- (municipality_ibge, person_id, birth_key) of people recorded with the female sex and a known birth date (Previne
  -- Brasil 4 counts by sex; C7 reads the gender identity too: c7_person).
  SELECT p.municipality_ibge, p.person_id, p.birth_key
  FROM person p
  JOIN ${raw('tb_dim_sexo')} sx ON sx._municipality_ibge = p.municipality_ibge AND sx.co_seq_dim_sexo = p.sex_id
  WHERE (UPPER(sx.ds_sexo) = 'FEMININO' OR UPPER(sx.sg_sexo) = 'F') AND p.birth_key IS NOT NULL
)`,
    gender_identity: winningRegistrationCte(dialect, 'gender_identity', 'co_dim_identidade_genero'),
    c7_person: `
c7_person AS (
  -- (municipality_ibge, y, q, person_id, birth_key, female): per period, the people with a known birth date C7 counts
  -- (its note, items 4.1 and 4.2): recorded with the female sex, unless the winning registration version declares the
  -- gender identity "Mulher transgênero" (left out of every good practice); or with the male sex and the identity
  -- "Homem transgênero". The identity is matched by its LEDI code (149, 150) or its name; none declared, or a PEC
  -- without the column: the recorded sex alone decides.
  SELECT municipality_ibge, y, q, person_id, birth_key, female
  FROM (
    SELECT per.municipality_ibge, per.y, per.q, p.person_id, p.birth_key,
      CASE WHEN UPPER(sx.ds_sexo) = 'FEMININO' OR UPPER(sx.sg_sexo) = 'F' THEN 1 ELSE 0 END AS female,
      CASE WHEN UPPER(sx.ds_sexo) = 'MASCULINO' OR UPPER(sx.sg_sexo) = 'M' THEN 1 ELSE 0 END AS male,
      CASE WHEN LTRIM(gi.nu_identificador, '0') = ${sqlLiteral(GENDER_IDENTITY_CODES.transMan)} OR LOWER(gi.ds_identidade_genero) LIKE 'homem trans%' THEN 'trans_man'
           WHEN LTRIM(gi.nu_identificador, '0') = ${sqlLiteral(GENDER_IDENTITY_CODES.transWoman)} OR LOWER(gi.ds_identidade_genero) LIKE 'mulher trans%' THEN 'trans_woman'
           ELSE 'other' END AS identity
    FROM period per
    JOIN person p ON p.municipality_ibge = per.municipality_ibge
    JOIN ${raw('tb_dim_sexo')} sx ON sx._municipality_ibge = p.municipality_ibge AND sx.co_seq_dim_sexo = p.sex_id
    LEFT JOIN gender_identity g ON g.municipality_ibge = per.municipality_ibge AND g.y = per.y AND g.q = per.q AND g.person_id = p.person_id
    LEFT JOIN ${raw('tb_dim_identidade_genero')} gi ON gi._municipality_ibge = g.municipality_ibge AND gi.co_seq_dim_identidade_genero = g.value
    WHERE p.birth_key IS NOT NULL
  ) s
  WHERE (female = 1 AND identity <> 'trans_woman') OR (male = 1 AND identity = 'trans_man')
)`,
  };
}

/**
 * `WITH` clause computing `evaluated` for the given indicators: one row per (indicator,
 * municipality, quadrimestre, person) of the denominator, deceased people left out, with the
 * person's pseudonymous key and team, the good-practice flags gp_1…gp_6 (NULL beyond the
 * indicator's practices), in_numerator, score (0–100 for scored indicators, else NULL), the team's
 * type in force on the period's last day (team_type, NULL when unknown) and the period's honesty flags.
 */
export function evaluatedWith(dialect: SqlDialect, indicators: readonly Indicator[]): string {
  const events = eventCtes(dialect);
  const needed = [...new Set(indicators.flatMap((i) => i.needs))];
  const eap = `tt.team_type = ${sqlLiteral(TEAM_TYPE.eap)}`;
  const evaluations = indicators.map((i) => {
    const inFull = new Set(i.eapInFull ?? []);
    // A practice given in full to eAP teams is met for their people, whatever the events say.
    const gp = (n: number) => (inFull.has(n) ? `CASE WHEN ${eap} THEN 1 ELSE x.gp_${n} END` : `x.gp_${n}`);
    const gps = Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) => (k < i.goodPractices.length ? gp(k + 1) : 'CAST(NULL AS INT64)'));
    const inNumerator =
      inFull.size === 0
        ? 'x.in_numerator'
        : `CASE WHEN ${eap} THEN CASE WHEN ${i.goodPractices.map((g) => `${gp(g.n)} = 1`).join(' AND ')} THEN 1 ELSE 0 END ELSE x.in_numerator END`;
    // Practice proportions (C7) are scored per team and municipality only (star.ts), never per person.
    const scored = i.goodPractices.every((g) => g.score !== null) && i.scoring !== 'practiceProportions';
    const score = asFloat(dialect, scored ? i.goodPractices.map((g) => `${gp(g.n)} * ${g.score}`).join(' + ') : 'NULL');
    const known = `tt.team_type IN (${sqlLiteral(TEAM_TYPE.esf)}, ${sqlLiteral(TEAM_TYPE.eap)})`;
    return `
  SELECT ${sqlLiteral(i.id)} AS indicator_id, x.municipality_ibge, x.y, x.q, x.person_id,
    ${gps.map((g, k) => `${g} AS gp_${k + 1}`).join(', ')},
    ${inNumerator} AS in_numerator, ${score} AS score, tt.team_type,
    CASE WHEN per.history_start_key IS NOT NULL
      AND CAST(FLOOR(per.history_start_key / 100) AS INT64) <= CAST(FLOOR(per.${i.lookback} / 100) AS INT64) THEN 1 ELSE 0 END AS history_complete
  FROM (${i.evaluate()}) x
  JOIN period per ON per.municipality_ibge = x.municipality_ibge AND per.y = x.y AND per.q = x.q
  JOIN person pt ON pt.municipality_ibge = x.municipality_ibge AND pt.person_id = x.person_id
  LEFT JOIN team_type_period tt ON tt.municipality_ibge = pt.municipality_ibge AND tt.y = x.y AND tt.q = x.q AND tt.team_id = pt.team_id${
    // The type in force on the period's last day. Another known type leaves the person out; an unknown type keeps them.
    i.esfEapOnly ? `\n  WHERE tt.team_type IS NULL OR ${known}` : ''
  }`;
  });
  return `WITH ${commonCtes(dialect)},${needed.map((n) => events[n]).join(',')},
evaluated AS (
  SELECT
    e.indicator_id, e.municipality_ibge, e.y, e.q, p.person_key, p.team_id,
    ${Array.from({ length: MAX_GOOD_PRACTICES }, (_, k) => `e.gp_${k + 1}`).join(', ')},
    e.in_numerator, e.score, e.team_type, e.history_complete
  FROM (${evaluations.join('\n  UNION ALL')}
  ) e
  JOIN person p ON p.municipality_ibge = e.municipality_ibge AND p.person_id = e.person_id
  WHERE p.deceased = 0
)`;
}
