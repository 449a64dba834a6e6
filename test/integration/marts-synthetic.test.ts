import { cohortCns, cohortCpf } from '../../scripts/synthetic-pec/documents';
import { seedPec } from '../../scripts/synthetic-pec/generate';
import type { TeamTypeChange } from '../../scripts/synthetic-pec/population';
import { PSEUDONYM_PATTERN } from '../../shared/contracts/tables';
import { INDICATOR_COHORT, cohortTeamIne } from '../../scripts/synthetic-pec/indicator-cohort';
import { INDICATORS } from '../../shared/marts/indicators';
import { MARTS, refreshMartDuckDb } from '../../shared/marts/marts';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { testPipeline } from '../support/local-pipeline';

/**
 * The whole chain — synthetic PEC → extract (pseudonymisation) → load → marts — against the
 * planted indicator cohort of the synthetic PEC (scripts/synthetic-pec/indicator-cohort.ts): one
 * team per municipality whose people have exactly known events on one day of 2026Q3. Its rows in
 * the marts must equal the planted numbers; the rest of the municipality is a random simulation
 * and is only checked for consistency.
 */
const CAMPINAS = { ibge: '3509502', name: 'Campinas', uf: 'SP' };
const END = '2026-11-20';
const WINDOW = { start: '2025-09-01', end: '2026-11-22' }; // all of the synthetic history

describe('indicator marts over a synthetic PEC with a planted cohort', () => {
  let db: TestDatabase;
  let p: Awaited<ReturnType<typeof testPipeline>>;
  let changes: TeamTypeChange[] = [];
  const H = INDICATOR_COHORT.hypertension;
  const D = INDICATOR_COHORT.diabetes;
  const C = INDICATOR_COHORT.cytology;
  const V = INDICATOR_COHORT.vaccination;
  const P = INDICATOR_COHORT.prenatal;
  const W = INDICATOR_COHORT.womensCancer;
  const K = INDICATOR_COHORT.childDevelopment;
  const G = INDICATOR_COHORT.pregnancyCare;
  beforeAll(async () => {
    db = await createTestDatabase('pec_cohort', async (c) => {
      changes = (await seedPec(c, { seed: 21, municipalities: [CAMPINAS], citizens: 300, endDate: END, indicatorCohort: true })).teamTypeChanges;
    });
    p = await testPipeline([{ db, municipalities: [CAMPINAS] }]);
    await p.runOnce({ runDate: END, window: WINDOW });
    for (const m of MARTS) await refreshMartDuckDb(p.warehouse, m);
  }, 240_000);
  afterAll(async () => {
    await p?.dispose();
    await db?.drop();
  });

  it("the cohort team's figures in 2026Q3 are the planted ones, for every indicator", async () => {
    const rows = await p.warehouse.query(
      `SELECT indicator_id, denominator::INTEGER AS d, numerator::INTEGER AS n, score_mean,
         gp_1_met::INTEGER AS g1, gp_2_met::INTEGER AS g2, gp_3_met::INTEGER AS g3, gp_4_met::INTEGER AS g4, gp_5_met::INTEGER AS g5, gp_6_met::INTEGER AS g6
       FROM marts.indicator_team_period WHERE team_ine = $1 AND quadrimestre = '2026Q3' ORDER BY 1`,
      [cohortTeamIne(CAMPINAS.ibge)],
    );
    const byId = Object.fromEntries(rows.map((r) => [r.indicator_id, [r.d, r.n, r.score_mean, r.g1, r.g2, r.g3, r.g4, r.g5, r.g6]]));
    expect(byId).toEqual({
      // Self-declared people count in Previne 6 (never followed: no consultation); duplicates once; the dead nowhere.
      previne_hypertension: [H.people + H.selfDeclared, H.followed, null, H.people, H.followed, null, null, null, null],
      previne_diabetes: [D.people, D.followed, null, D.people, D.followed, null, null, null, null],
      // The C7 women aged 55 are 25–64 too, never screened; Previne Brasil counts by sex: the transgender women (female
      // sex) are in, the transgender men (male sex) out.
      previne_cytology: [C.people + W.women + W.transWomen, C.followed, null, C.followed, null, null, null, null, null],
      // 6 consultations: complete + late; by week 12: all but the late; both exams: the tested.
      previne_prenatal_consultations: [P.pregnancies, P.complete, null, P.complete + P.late, P.pregnancies - P.late, null, null, null, null],
      previne_prenatal_exams: [P.pregnancies, P.tested, null, P.tested, P.tested, null, null, null, null],
      // A dentist's consultation on day 120 of the pregnancy: the first `dental`.
      previne_prenatal_dental: [P.pregnancies, P.dental, null, P.dental, null, null, null, null, null],
      previne_vaccination: [V.children, V.vaccinated, null, V.vaccinated + V.pentavalentOnly, V.vaccinated, null, null, null, null],
      // C5: consultation (25) for all, blood pressure (25) for the followed; no anthropometry, no visits.
      c5_hypertension: [H.people, 0, (25 * H.people + 25 * H.followed) / H.people, H.people, H.followed, 0, 0, null, null],
      // C4: consultation (20) for all, HbA1c (15) for the followed.
      // C6: the diabetic men are 60: consultation (25) for all; no anthropometry, visits or influenza dose.
      c6_older_people: [D.people, 0, 25, D.people, 0, 0, 0, null, null],
      c4_diabetes: [D.people, 0, Math.round(((20 * D.people + 15 * D.followed) / D.people) * 100) / 100, D.people, 0, 0, 0, D.followed, 0],
      // C2: the babies and the vaccination children (aged one); the followed babies meet A (day 10) and D (visits on days
      // 10 and 50): 40 points each. The children of one have single third doses only: no complete schedule.
      c2_child_development: [V.children + K.babies, 0, Math.round(((40 * K.followed) / (V.children + K.babies)) * 100) / 100, K.followed, 0, 0, K.followed, 0, null],
      // C7, each practice over its own women: A (25–64) the cytology women and the women of 55; B (9–14) the girls;
      // C (14–69) those and the pregnant women of 20; D (50–69) the women of 55. Only vaccinated girls meet all theirs.
      // The transgender men of 55 are in A, C and D (D met by the first transMenMammography); the transgender women
      // of 55 are in none, though screened.
      // C3: the pregnant women; A (10) all but the late, E (9) the visited, F (9) the dTpa, I (9) the delivered, J (9) the
      // puerperal visits, K (9) the dental; nobody meets all eleven (the checks of every practice are in the next test).
      c3_pregnancy_puerperium: [
        P.pregnancies,
        0,
        Math.round(((10 * (P.pregnancies - P.late) + 9 * (G.visited + G.dtpa + G.delivered + G.puerperalVisit + P.dental)) / P.pregnancies) * 100) / 100,
        P.pregnancies - P.late,
        0,
        0,
        0,
        G.visited,
        G.dtpa,
      ],
      c7_womens_cancer_prevention: [
        C.people + P.pregnancies + W.girls + W.women + W.transMen,
        W.vaccinated,
        Math.round(
          (20 * (C.followed / (C.people + W.women + W.transMen)) +
            30 * (W.vaccinated / W.girls) +
            30 * (W.sexualHealth / (C.people + P.pregnancies + W.women + W.transMen)) +
            20 * ((W.mammography + W.transMenMammography) / (W.women + W.transMen))) *
            100,
        ) / 100,
        C.followed,
        W.vaccinated,
        W.sexualHealth,
        W.mammography + W.transMenMammography,
        null,
        null,
      ],
    });
    const [mart] = await p.warehouse.query(
      `SELECT denominator::INTEGER AS d, numerator::INTEGER AS n FROM marts.hypertension_follow_up WHERE team_ine = $1 AND quadrimestre = '2026Q3'`,
      [cohortTeamIne(CAMPINAS.ibge)],
    );
    expect(mart).toEqual({ d: H.people + H.selfDeclared, n: H.followed });
  });

  it("C3: the cohort team's eleven practices in 2026Q3 are the planted ones; the recorded outcome date starts the puerperium", async () => {
    const [c3] = await p.warehouse.query(
      `SELECT ${Array.from({ length: 11 }, (_, k) => `gp_${k + 1}_met::INTEGER AS g${k + 1}`).join(', ')}
       FROM marts.indicator_team_period WHERE indicator_id = 'c3_pregnancy_puerperium' AND team_ine = $1 AND quadrimestre = '2026Q3'`,
      [cohortTeamIne(CAMPINAS.ibge)],
    );
    expect(c3).toEqual({ g1: P.pregnancies - P.late, g2: 0, g3: 0, g4: 0, g5: G.visited, g6: G.dtpa, g7: 0, g8: 0, g9: G.delivered, g10: G.puerperalVisit, g11: P.dental });
  });

  it('the municipality: every figure is a proportion of its denominator, and the teams add up to the municipal figure', async () => {
    const bad = await p.warehouse.query(`SELECT * FROM marts.indicator_team_period WHERE numerator > denominator OR denominator = 0 OR rate <> ROUND(numerator / denominator, 4)`);
    expect(bad).toEqual([]);
    const sums = await p.warehouse.query(
      `SELECT * FROM (
         SELECT m.indicator_id, m.quadrimestre, m.denominator::INTEGER AS municipal,
           (SELECT sum(t.denominator)::INTEGER FROM marts.indicator_team_period t
            WHERE t.indicator_key = m.indicator_key AND t.period_key = m.period_key AND t.team_ine <> '-') AS teams
         FROM marts.indicator_municipality_period m) x
       WHERE municipal <> teams`,
    );
    expect(sums).toEqual([]);
    // The random population does produce people in every indicator (the simulation plants the conditions).
    const [n] = await p.warehouse.query(`SELECT count(DISTINCT indicator_id)::INTEGER AS n FROM marts.indicator_team_period WHERE team_ine NOT IN ('-', $1) AND denominator > 0`, [
      cohortTeamIne(CAMPINAS.ibge),
    ]);
    expect(n!.n).toBe(INDICATORS.length);
  });

  it('the planted changes of team type: each quadrimestre takes the type of its last day; the 2024-model indicators follow it, dim_team shows today', async () => {
    // seed 21, history 2025-09-21 .. 2026-11-20: an eSF team becomes an eMulti (72) on 2026-06-24 (inside 2026Q2), an eAP
    // team became an eSF on 2026-01-26 (inside 2026Q1).
    expect(changes.map((c) => [c.from, c.to, c.day])).toEqual([
      ['70', '72', '2026-06-24'],
      ['76', '70', '2026-01-26'],
    ]);
    const perPeriod = async (ine: string) =>
      (
        await p.warehouse.query(
          `SELECT quadrimestre AS q, MIN(team_type) AS lo, MAX(team_type) AS hi,
             count(*) FILTER (WHERE indicator_id NOT LIKE 'previne%')::INTEGER AS model2024, count(*) FILTER (WHERE indicator_id LIKE 'previne%')::INTEGER AS previne
           FROM marts.indicator_team_period WHERE team_ine = $1 GROUP BY 1 ORDER BY 1`,
          [ine],
        )
      ).map((r) => ({ ...r }));
    const [toEmulti, toEsf] = changes;
    // The type per quadrimestre; the 2024-model indicators (C2–C7) have rows only while the type is eSF or eAP, the
    // Previne Brasil ones in every quadrimestre (how many rows depends on the random population: only > 0 is asserted).
    const shape = (rows: Awaited<ReturnType<typeof perPeriod>>) =>
      rows.map((r) => `${String(r.q)} ${String(r.lo)}/${String(r.hi)} 2024:${Number(r.model2024) > 0 ? 'yes' : 'no'} previne:${Number(r.previne) > 0 ? 'yes' : 'no'}`);
    expect(shape(await perPeriod(toEmulti!.ine))).toEqual([
      '2025Q3 70/70 2024:yes previne:yes',
      '2026Q1 70/70 2024:yes previne:yes',
      '2026Q2 72/72 2024:no previne:yes',
      '2026Q3 72/72 2024:no previne:yes',
    ]);
    expect(shape(await perPeriod(toEsf!.ine))).toEqual([
      '2025Q3 76/76 2024:yes previne:yes',
      '2026Q1 70/70 2024:yes previne:yes',
      '2026Q2 70/70 2024:yes previne:yes',
      '2026Q3 70/70 2024:yes previne:yes',
    ]);
    // While it was an eAP (2025Q3), its children had C2 D and its pregnant women C3 E and J in full; as an eSF not.
    const given = async (indicator: string, gp: number, q: string) =>
      (
        await p.warehouse.query(
          `SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE gp_${gp} = 1)::INTEGER AS met FROM marts.indicator_person_period
           WHERE team_ine = $1 AND indicator_id = $2 AND quadrimestre = $3`,
          [toEsf!.ine, indicator, q],
        )
      )[0]!;
    expect(await given('c2_child_development', 4, '2025Q3')).toEqual({ n: 2, met: 2 });
    expect(await given('c3_pregnancy_puerperium', 5, '2025Q3')).toEqual({ n: 1, met: 1 });
    expect(await given('c3_pregnancy_puerperium', 10, '2025Q3')).toEqual({ n: 1, met: 1 });
    expect(await given('c3_pregnancy_puerperium', 5, '2026Q1')).toEqual({ n: 1, met: 0 });
    expect(await given('c3_pregnancy_puerperium', 10, '2026Q1')).toEqual({ n: 1, met: 0 });
    const dim = await p.warehouse.query(`SELECT team_ine AS ine, team_type AS type FROM marts.dim_team WHERE team_ine IN ($1, $2) ORDER BY team_type`, [toEsf!.ine, toEmulti!.ine]);
    expect(dim).toEqual([
      { ine: toEsf!.ine, type: '70' },
      { ine: toEmulti!.ine, type: '72' },
    ]);
  });

  it("C1: the municipality's scheduled share is the generator's (7 of its 12 kinds of demand are scheduled), and the counts add up", async () => {
    const [c1] = await p.warehouse.query(
      `SELECT sum(scheduled)::INTEGER AS s, sum(total)::INTEGER AS t, count(*) FILTER (WHERE scheduled + spontaneous <> total OR total = 0)::INTEGER AS bad
       FROM marts.access_team_period WHERE municipality_ibge = $1`,
      [CAMPINAS.ibge],
    );
    expect(c1!.bad).toBe(0);
    // Thousands of consultations: the share is within a few points of 7/12 (binomial standard error ~1 point).
    expect(c1!.t).toBeGreaterThan(500);
    expect(Math.abs(Number(c1!.s) / Number(c1!.t) - 7 / 12)).toBeLessThan(0.05);
  });

  it('no clear-text CPF, CNS or name of the cohort in any mart; person keys are HMAC pseudonyms', async () => {
    const clear = Array.from({ length: 400 }, (_, i) => [cohortCpf(0, i + 1), cohortCns(0, i + 1), `COORTE ${CAMPINAS.ibge} ${i + 1}`]).flat();
    const tables = await p.warehouse.query(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'marts'`);
    let scanned = 0;
    for (const { t } of tables) {
      const rows = await p.warehouse.query(`SELECT * FROM marts.${String(t)}`);
      scanned += rows.length;
      const text = rows.map((r) => Object.values(r).map(String).join('|')).join('\n');
      expect({ table: t, leaks: clear.filter((v) => text.includes(v)) }).toEqual({ table: t, leaks: [] });
    }
    expect(scanned).toBeGreaterThan(1000);
    const keys = await p.warehouse.query(
      `SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE regexp_full_match(person_key, '(cpf|cns):${PSEUDONYM_PATTERN}|pec:[0-9]{7}:[0-9]+'))::INTEGER AS ok
       FROM marts.indicator_person_period`,
    );
    expect(keys[0]!.ok).toBe(keys[0]!.n);
  });
});
