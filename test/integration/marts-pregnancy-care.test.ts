import type { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { openMartWarehouse, type MartWarehouse, type Row } from '../support/mart-warehouse';
import { MARTS, refreshMartDuckDb } from '../../shared/marts/marts';

/** `YYYYMMDD` key of the day `n` days after the ISO day `iso`. */
const plus = (iso: string, n: number): number => {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return Number(d.toISOString().slice(0, 10).replaceAll('-', ''));
};

/**
 * C3, care in pregnancy and the puerperium (docs/indicators/prenatal.md), on a hand-made warehouse. A = 3509502,
 * team 2 = T1. CBO 40 doctor 225142, 41 nurse 223565, 45 oral-health technician 322405, 46 community health agent
 * 515105. CIAP 20 W78 (pregnancy), 21 W90 (delivery), 22 W82 (abortion), 23 W18 (puerperium). Vaccine 80 = '57' dTpa.
 * Procedures 30 0214010074 syphilis, 31 0214010058 HIV, 32 0214010104 hepatitis B, 33 0214010090 hepatitis C rapid
 * tests, 34 0214010252 syphilis rapid test in pregnancy, 35 0202030300 HIV serology. Days are counted from the LMP (day 0).
 * 2026Q2 = 2026-05-01 … 2026-08-31 (day keys 20260501 … 20260831).
 *   P1 LMP 2025-10-01: 7 nurse W78 consultations on days 60 … 240, each with blood pressure, weight and height (A, B,
 *      C, D); agent visits on days 61, 100, 150 (E); dTpa on day 140 (F, the first day of week 20); the four rapid
 *      tests on day 97 (the last day of the first trimester: G); syphilis test and HIV serology evaluated on day 196
 *      (the first day of the third: H); a doctor's W90 (delivery) on day 265: the pregnancy ends there, so the W90
 *      consultation is the first of the puerperium (I); an agent visit on day 306, its last day (J); an oral-health
 *      technician on day 200 (K). Score 100. The puerperium ends on day 307 = 2026-08-04: not in 2026Q3.
 *   P2 no LMP; gestational age 12 weeks at a consultation on 2026-03-10 → LMP 2025-12-16, first consultation on day 84 (A);
 *      dTpa on day 139 (not F); syphilis and HIV only in the first trimester (not G). Score 10. Ends 2026-10-06: in Q3 too.
 *   P3 LMP 2025-12-01 and gestational age 20 weeks at a consultation on 2026-03-01: the LMP wins → day 90 (A); the four
 *      tests on day 98 (second trimester: not G); syphilis and HIV requested, not evaluated, on day 200 (not H). Score 10.
 *   P4 LMP 2026-01-10, W78 on 2026-03-01 and W82 (abortion) on 2026-03-20: excluded.
 *   P5 LMP 2026-02-01, W78 on 2026-03-01, deceased: excluded.
 *   P6 LMP 2025-05-31 (no outcome: ends on day 294; the puerperium's last day, day 335, is 2026-05-01): W78 on day 30 (A),
 *      a nurse's W18 on day 294 (I), an agent visit on day 335 (J). Score 28.
 *   P7 LMP 2025-05-30 (the puerperium's last day is 2026-04-30): not in 2026Q2.
 *   P8 LMP 2025-09-01, W78 on day 40 (A). A nurse's consultation on 2026-05-20 records W90 and, in the problem list, W78
 *      resolved on 2026-05-09 (co_dim_data_fim_problema): the recorded outcome date wins over the delivery code's day, so
 *      the agent visit of 2026-05-12 is in the puerperium (J) and the W90 consultation too (I). Score 28.
 *   P9 LMP 2025-12-01 (W78 on 2026-01-10), an abortion (W82) on 2026-01-20; a new pregnancy, LMP 2026-03-01, W78 on
 *      2026-04-10 (day 40: A): the lost pregnancy is excluded and does not hide the new one. Score 10.
 * Expected T1 2026Q2: denominator 6 (P1, P2, P3, P6, P8, P9), numerator 1, mean score (100 + 10 + 10 + 28 + 28 + 10) / 6.
 */
const A = '3509502';
const L1 = '2025-10-01';
const L3 = '2025-12-01';
const L6 = '2025-05-31';
const L7 = '2025-05-30';
describe('C3: pregnancies and puerperiums active in each quadrimestre, and their good practices', () => {
  let mw: MartWarehouse;
  let w: DuckDbWarehouse;
  beforeAll(async () => {
    mw = await openMartWarehouse('pec-c3-', A);
    w = mw.w;
    await mw.insert('tb_dim_equipe', [{ co_seq_dim_equipe: 2, nu_ine: '0000000011', no_equipe: 'ESF 1' }]);
    await mw.insert('tb_dim_cbo', [
      { co_seq_dim_cbo: 40, nu_cbo: '225142' },
      { co_seq_dim_cbo: 41, nu_cbo: '223565' },
      { co_seq_dim_cbo: 45, nu_cbo: '322405' },
      { co_seq_dim_cbo: 46, nu_cbo: '515105' },
    ]);
    await mw.insert('tb_dim_cid', [{ co_seq_dim_cid: 1, nu_cid: '-' }]);
    await mw.insert('tb_dim_ciap', [
      { co_seq_dim_ciap: 1, nu_ciap: '-' },
      { co_seq_dim_ciap: 20, nu_ciap: 'W78' },
      { co_seq_dim_ciap: 21, nu_ciap: 'W90' },
      { co_seq_dim_ciap: 22, nu_ciap: 'W82' },
      { co_seq_dim_ciap: 23, nu_ciap: 'W18' },
    ]);
    const procedures: [number, string][] = [
      [1, '-'],
      [30, '0214010074'],
      [31, '0214010058'],
      [32, '0214010104'],
      [33, '0214010090'],
      [34, '0214010252'],
      [35, '0202030300'],
    ];
    await mw.insert(
      'tb_dim_procedimento',
      procedures.map(([id, code]) => ({ co_seq_dim_procedimento: id, co_proced: code })),
    );
    await mw.insert('tb_dim_imunobiologico', [{ co_seq_dim_imunobiologico: 80, nu_identificador: '57' }]);
    await mw.insert(
      'tb_fat_cidadao_pec',
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((id) => ({ co_seq_fat_cidadao_pec: id, nu_cpf_cidadao: `p${id}`, co_dim_equipe_vinc: 2, st_faleceu: id === 5 ? 1 : 0 })),
    );
    let id = 0;
    const consultations: Row[] = [];
    const problems: Row[] = [];
    const consult = (citizen: number, day: number, ciap: number, o: { cbo?: number; lmp?: number; weeks?: number; measured?: boolean; resolved?: number } = {}) => {
      const c = ++id;
      consultations.push({
        co_seq_fat_atd_ind: c,
        co_fat_cidadao_pec: citizen,
        co_dim_tempo: day,
        co_dim_cbo_1: o.cbo ?? 41,
        co_dim_tempo_dum: o.lmp ?? 30001231,
        nu_idade_gestacional_semanas: o.weeks ?? null,
        nu_pressao_sistolica: o.measured ? 110 : null,
        nu_peso: o.measured ? 60 : null,
        nu_altura: o.measured ? 1.6 : null,
      });
      problems.push({
        co_seq_fat_atd_ind_problemas: c,
        co_fat_atd_ind: c,
        co_fat_cidadao_pec: citizen,
        co_dim_cid: 1,
        co_dim_ciap: ciap,
        co_dim_data_fim_problema: o.resolved ?? 30001231,
        co_dim_tempo: day,
      });
      return c;
    };
    for (const d of [60, 90, 120, 150, 180, 210, 240]) consult(1, plus(L1, d), 20, { lmp: plus(L1, 0), measured: true });
    consult(1, plus(L1, 265), 21, { cbo: 40 });
    consult(2, 20260310, 20, { weeks: 12 });
    consult(2, 20260505, 20, { weeks: 18 });
    consult(2, 20260910, 20); // so that 2026Q3 exists
    const p3 = consult(3, 20260301, 20, { lmp: plus(L3, 0), weeks: 20 });
    consult(4, 20260301, 20, { lmp: 20260110 });
    consult(4, 20260320, 22);
    consult(5, 20260301, 20, { lmp: 20260201 });
    consult(6, plus(L6, 30), 20, { lmp: plus(L6, 0) });
    consult(6, plus(L6, 294), 23);
    consult(7, plus(L7, 30), 20, { lmp: plus(L7, 0) });
    consult(8, plus('2025-09-01', 40), 20, { lmp: 20250901 });
    const p8 = consult(8, 20260520, 21);
    consult(9, 20260110, 20, { lmp: 20251201 });
    consult(9, 20260120, 22);
    consult(9, 20260410, 20, { lmp: 20260301 });
    // The problem-list update of the same consultation: W78 resolved on the outcome day.
    problems.push({
      co_seq_fat_atd_ind_problemas: 1000,
      co_fat_atd_ind: p8,
      co_fat_cidadao_pec: 8,
      co_dim_cid: 1,
      co_dim_ciap: 20,
      co_dim_data_fim_problema: 20260509,
      co_dim_tempo: 20260520,
    });
    await mw.insert('tb_fat_atendimento_individual', consultations);
    await mw.insert('tb_fat_atd_ind_problemas', problems);

    const visit = (citizen: number, day: number): Row => ({ co_seq_fat_visita_domiciliar: ++id, co_fat_cidadao_pec: citizen, co_dim_cbo: 46, co_dim_tempo: day });
    await mw.insert('tb_fat_visita_domiciliar', [...[61, 100, 150, 306].map((d) => visit(1, plus(L1, d))), visit(6, plus(L6, 335)), visit(8, 20260512)]);
    const dose = (citizen: number, day: number): Row => ({
      co_seq_fat_vacinacao_vacina: ++id,
      co_fat_cidadao_pec: citizen,
      co_dim_imunobiologico: 80,
      co_dim_tempo_vacina_aplicada: day,
      co_dim_tempo: day,
    });
    await mw.insert('tb_fat_vacinacao_vacina', [dose(1, plus(L1, 140)), dose(2, plus('2025-12-16', 139))]);
    const test = (citizen: number, procedure: number, day: number): Row => ({
      co_seq_fat_proced_atend_proced: ++id,
      co_fat_cidadao_pec: citizen,
      co_dim_procedimento: procedure,
      co_dim_tempo: day,
    });
    await mw.insert('tb_fat_proced_atend_proced', [
      ...[30, 31, 32, 33].map((p) => test(1, p, plus(L1, 97))),
      test(1, 34, plus(L1, 196)),
      test(2, 30, 20260310),
      test(2, 31, 20260310),
      ...[30, 31, 32, 33].map((p) => test(3, p, plus(L3, 98))),
    ]);
    const exam = (citizen: number, consultation: number, procedure: number, day: number, evaluated: boolean): Row => ({
      co_seq_fat_atd_ind_procedimentos: ++id,
      co_fat_atd_ind: consultation,
      co_fat_cidadao_pec: citizen,
      co_dim_procedimento_solicitado: evaluated ? 1 : procedure,
      co_dim_procedimento_avaliado: evaluated ? procedure : 1,
      co_dim_tempo: day,
    });
    await mw.insert('tb_fat_atd_ind_procedimentos', [exam(1, 1, 35, plus(L1, 196), true), exam(3, p3, 34, plus(L3, 200), false), exam(3, p3, 35, plus(L3, 200), false)]);
    await mw.insert('tb_fat_atendimento_odonto', [{ co_seq_fat_atd_odnt: 1, co_fat_cidadao_pec: 1, co_dim_cbo_1: 45, co_dim_tempo: plus(L1, 200) }]);
    for (const m of MARTS) await refreshMartDuckDb(w, m);
  });
  afterAll(() => {
    mw?.dispose();
  });

  const practices = Array.from({ length: 11 }, (_, k) => `gp_${k + 1}::INTEGER`).join(" || '' || ");
  const people = (quadrimestre: string) =>
    w.query(
      `SELECT person_key AS p, ${practices} AS gp, in_numerator::INTEGER AS n, score
       FROM marts.indicator_person_period WHERE indicator_id = 'c3_pregnancy_puerperium' AND quadrimestre = $1 ORDER BY 1`,
      [quadrimestre],
    );

  it('2026Q2: each practice by its window; the outcome ends the pregnancy; the LMP, else the gestational age, dates it', async () => {
    expect(await people('2026Q2')).toEqual([
      { p: 'cpf:p1', gp: '11111111111', n: 1, score: 100 },
      { p: 'cpf:p2', gp: '10000000000', n: 0, score: 10 },
      { p: 'cpf:p3', gp: '10000000000', n: 0, score: 10 },
      { p: 'cpf:p6', gp: '10000000110', n: 0, score: 28 },
      { p: 'cpf:p8', gp: '10000000110', n: 0, score: 28 },
      { p: 'cpf:p9', gp: '10000000000', n: 0, score: 10 },
    ]);
  });

  it('the team: mean score and people meeting each practice', async () => {
    const [team] = await w.query(
      `SELECT denominator::INTEGER AS d, numerator::INTEGER AS n, score_mean AS score,
         ${Array.from({ length: 11 }, (_, k) => `gp_${k + 1}_met::INTEGER AS g${k + 1}`).join(', ')}
       FROM marts.indicator_team_period WHERE indicator_id = 'c3_pregnancy_puerperium' AND quadrimestre = '2026Q2' AND team_ine = '0000000011'`,
    );
    expect(team).toEqual({
      d: 6,
      n: 1,
      score: Math.round((100 * (100 + 10 + 10 + 28 + 28 + 10)) / 6) / 100,
      g1: 6,
      g2: 1,
      g3: 1,
      g4: 1,
      g5: 1,
      g6: 1,
      g7: 1,
      g8: 1,
      g9: 3,
      g10: 3,
      g11: 1,
    });
  });

  it('periods: P1 leaves with its puerperium (delivery on day 265), P2, P3 and P9 are still pregnant in 2026Q3; Q1 sees only what happened by its end', async () => {
    expect((await people('2026Q3')).map((r) => [r.p, r.score])).toEqual([
      ['cpf:p2', 10],
      ['cpf:p3', 10],
      ['cpf:p9', 10],
    ]);
    // 2026Q1: P1's events up to 2026-04-30 only — 6 consultations and 6 measured days (not B, C, D), no delivery yet
    // (not I, J); P6 and P7 in their puerperium.
    expect((await people('2026Q1')).map((r) => [r.p, r.gp])).toEqual([
      ['cpf:p1', '10001111001'],
      ['cpf:p2', '10000000000'],
      ['cpf:p3', '10000000000'],
      ['cpf:p6', '10000000100'],
      ['cpf:p7', '10000000000'],
      ['cpf:p8', '10000000000'],
      ['cpf:p9', '10000000000'],
    ]);
  });

  it('the nominal list of the open period (2026Q3) names the practices each person still misses, up to the eleventh', async () => {
    const rows = await w.query(
      `SELECT person_key AS p, missing_practices AS m FROM marts.nominal_list WHERE indicator_id = 'c3_pregnancy_puerperium' AND quadrimestre = '2026Q3' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { p: 'cpf:p2', m: '2,3,4,5,6,7,8,9,10,11' },
      { p: 'cpf:p3', m: '2,3,4,5,6,7,8,9,10,11' },
      { p: 'cpf:p9', m: '2,3,4,5,6,7,8,9,10,11' },
    ]);
  });
});
