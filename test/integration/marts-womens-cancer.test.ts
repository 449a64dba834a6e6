import type { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { openMartWarehouse, type MartWarehouse, type Row } from '../support/mart-warehouse';
import { MARTS, refreshMartDuckDb } from '../../shared/marts/marts';

/**
 * C7, women's care in cancer prevention (docs/indicators/cytology.md), on a hand-made warehouse.
 * A = 3509502; team 2 = T1, team 3 = T2. CBO 40 doctor 225142, 41 nurse 223565, 42 nursing technician 322205.
 * 2026Q2 (May–Aug): ages on 2026-08-31; windows 12 months from 2025-09-01, 24 from 2024-09-01, 36 from
 * 2023-09-01, 60 from 2021-09-01. Women (sex F) of T1:
 *   W1  born 1962-08-31 (64): cytology collected 2023-09-01 (36-month window's first day) → A; doctor, CIAP W14
 *       2025-09-01 (12-month window's first day) → C; mammography requested 2024-08-31 (day before 24 months) → not D.
 *   W2  born 1961-08-31 (65: out of A): nurse, CID N95.1 on 2026-08-31 → C; mammography evaluated 2024-09-01 → D.
 *   W3  born 2012-08-31 (14: B and C): HPV vaccine 2021-08-30, the day before her 9th birthday → not B; doctor, CIAP W78
 *       (pregnancy, not in C's list) → not C.
 *   W4  born 2017-08-31 (9 on the last day: B only): nonavalent HPV vaccine (93) on 2026-08-31 → B.
 *   W5  born 2017-09-01 (8): out, though vaccinated.
 *   W6  born 1990-01-01 (36): HPV molecular test requested 2022-01-01 (60 months, counted from 2026) → A in 2026Q2,
 *       not in 2025Q3; nursing technician with CIAP W14 → not C (doctor or nurse only).
 *   W7  born 1990-01-01: cytology exam ABEX001 requested 2023-08-31 (day before 36 months) → not A; doctor, CID Z30.0 → C.
 *   W10 born 1996-01-01: nurse, ABP022 (cervical screening, also in C's list) 2026-07-01 → A and C.
 *   M8 (a man with a cytology collection) and W9 (deceased) are out.
 * T1 2026Q2: denominator 7, numerator 3 (W2, W4, W10); A 3 of 4, B 1 of 2, C 4 of 6, D 1 of 2;
 *   score 20·3/4 + 30·1/2 + 30·4/6 + 20·1/2 = 60.
 * T2 2026Q2: W11 born 1996-01-01 with a cytology collection 2026-07-15 and no sexual-health consultation: A 1 of 1,
 *   C 0 of 1, nobody for B or D → score (20·1 + 30·0) × 100 / (20 + 30) = 40.
 * By gender identity (the note's items 4.1 and 4.2), team 4 = T3; identities 5 = LEDI 149 "Homem transgênero",
 * 6 = 150 "Mulher transgênero", 8 = no code, named "Homem Transexual"; 1 = not declared. Registrations dated 2026-03-01:
 *   G1 male, born 1970-01-01 (56), declares 149: cytology 2026-07-01 → A; mammography requested 2026-07-01 → D; no C.
 *   G2 male, born 2014-01-01 (12), declares 149, HPV dose 2026-01-01: B is for the female sex only → in no practice: out.
 *   G3 female, born 1970-01-01, declares 150 (transgender woman), cytology 2026-07-01: out of every practice (in 2025Q3,
 *      before that registration, the female sex counts her).
 *   G4 male, born 1970-01-01, declares nothing on 2026-03-01 and 149 on 2026-09-15, cytology 2026-07-01, doctor with
 *      CIAP W14 on 2026-10-01: out of 2026Q2 (the winning version then declares nothing); in 2026Q3 with A and C.
 *   G6 female, born 1996-01-01 (30), declares 149: the female sex counts (4.1.1); doctor, CIAP W14 2026-07-01 → C; no A.
 *   G8 male, born 1970-01-01, declares identity 8 (matched by its name): mammography evaluated 2026-07-01 → D; no A, C.
 *   G9 female, born 1970-01-01, no team: her registration's identity is NULL (a PEC version without the column,
 *      whenMissing 'null'): the female sex counts her (A, C and D, none met).
 * T3 2026Q2: denominator 3 (G1, G6, G8), numerator 0; A 1 of 3, B nobody, C 1 of 3, D 2 of 2;
 *   score (20·1/3 + 30·1/3 + 20·2/2) × 100 / (20 + 30 + 20) = 52.38.
 */
const A = '3509502';
describe("C7: cervical and breast screening, HPV vaccine and sexual health, each for its own women's ages", () => {
  let mw: MartWarehouse;
  let w: DuckDbWarehouse;
  beforeAll(async () => {
    mw = await openMartWarehouse('pec-c7-', A);
    w = mw.w;
    await mw.insert('tb_dim_equipe', [
      { co_seq_dim_equipe: 2, nu_ine: '0000000011', no_equipe: 'ESF 1' },
      { co_seq_dim_equipe: 3, nu_ine: '0000000022', no_equipe: 'ESF 2' },
      { co_seq_dim_equipe: 4, nu_ine: '0000000033', no_equipe: 'ESF 3' },
    ]);
    await mw.insert('tb_dim_identidade_genero', [
      { co_seq_dim_identidade_genero: 1, nu_identificador: null, ds_identidade_genero: 'Não informado' },
      { co_seq_dim_identidade_genero: 5, nu_identificador: '149', ds_identidade_genero: 'Homem transgênero' },
      { co_seq_dim_identidade_genero: 6, nu_identificador: '150', ds_identidade_genero: 'Mulher transgênero' },
      { co_seq_dim_identidade_genero: 8, nu_identificador: null, ds_identidade_genero: 'Homem Transexual' },
    ]);
    await mw.insert('tb_dim_cbo', [
      { co_seq_dim_cbo: 40, nu_cbo: '225142' },
      { co_seq_dim_cbo: 41, nu_cbo: '223565' },
      { co_seq_dim_cbo: 42, nu_cbo: '322205' },
    ]);
    await mw.insert('tb_dim_sexo', [
      { co_seq_dim_sexo: 2, sg_sexo: 'M', ds_sexo: 'Masculino' },
      { co_seq_dim_sexo: 3, sg_sexo: 'F', ds_sexo: 'Feminino' },
    ]);
    await mw.insert('tb_dim_cid', [
      { co_seq_dim_cid: 1, nu_cid: '-' },
      { co_seq_dim_cid: 2, nu_cid: 'N951' },
      { co_seq_dim_cid: 3, nu_cid: 'Z300' },
    ]);
    await mw.insert('tb_dim_ciap', [
      { co_seq_dim_ciap: 1, nu_ciap: '-' },
      { co_seq_dim_ciap: 20, nu_ciap: 'W14' },
      { co_seq_dim_ciap: 21, nu_ciap: 'W78' },
      { co_seq_dim_ciap: 22, nu_ciap: 'ABP022' },
    ]);
    await mw.insert('tb_dim_procedimento', [
      { co_seq_dim_procedimento: 1, co_proced: '-' },
      { co_seq_dim_procedimento: 32, co_proced: '0201020033' },
      { co_seq_dim_procedimento: 35, co_proced: '0202100251' },
      { co_seq_dim_procedimento: 36, co_proced: 'ABEX001' },
      { co_seq_dim_procedimento: 37, co_proced: '0204030188' },
    ]);
    await mw.insert('tb_dim_imunobiologico', [
      { co_seq_dim_imunobiologico: 70, nu_identificador: '67' },
      { co_seq_dim_imunobiologico: 71, nu_identificador: '93' },
    ]);
    const people: [number, string, number, number, number, number][] = [
      // id, cpf, sex, birth, team, deceased
      [1, 'w1', 3, 19620831, 2, 0],
      [2, 'w2', 3, 19610831, 2, 0],
      [3, 'w3', 3, 20120831, 2, 0],
      [4, 'w4', 3, 20170831, 2, 0],
      [5, 'w5', 3, 20170901, 2, 0],
      [6, 'w6', 3, 19900101, 2, 0],
      [7, 'w7', 3, 19900101, 2, 0],
      [8, 'm8', 2, 19800101, 2, 0],
      [9, 'w9', 3, 19800101, 2, 1],
      [10, 'w10', 3, 19960101, 2, 0],
      [11, 'w11', 3, 19960101, 3, 0],
      [21, 'g1', 2, 19700101, 4, 0],
      [22, 'g2', 2, 20140101, 4, 0],
      [23, 'g3', 3, 19700101, 4, 0],
      [24, 'g4', 2, 19700101, 4, 0],
      [26, 'g6', 3, 19960101, 4, 0],
      [28, 'g8', 2, 19700101, 4, 0],
      [29, 'g9', 3, 19700101, 1, 0],
    ];
    await mw.insert(
      'tb_fat_cidadao_pec',
      people.map(([id, cpf, sex, birth, team, dead]) => ({
        co_seq_fat_cidadao_pec: id,
        nu_cpf_cidadao: cpf,
        co_dim_sexo: sex,
        co_dim_tempo_nascimento: birth,
        co_dim_equipe_vinc: team,
        st_faleceu: dead,
      })),
    );
    const consultations: Row[] = [];
    const problems: Row[] = [];
    const consult = (id: number, citizen: number, day: number, cbo: number, code: { ciap?: number; cid?: number }) => {
      consultations.push({ co_seq_fat_atd_ind: id, co_fat_cidadao_pec: citizen, co_dim_tempo: day, co_dim_cbo_1: cbo });
      problems.push({
        co_seq_fat_atd_ind_problemas: id,
        co_fat_atd_ind: id,
        co_fat_cidadao_pec: citizen,
        co_dim_cid: code.cid ?? 1,
        co_dim_ciap: code.ciap ?? 1,
        co_dim_tempo: day,
      });
    };
    consult(101, 1, 20250901, 40, { ciap: 20 });
    consult(102, 2, 20260831, 41, { cid: 2 });
    consult(103, 3, 20260501, 40, { ciap: 21 });
    consult(106, 6, 20260301, 42, { ciap: 20 });
    consult(107, 7, 20260601, 40, { cid: 3 });
    consult(110, 10, 20260701, 41, { ciap: 22 });
    consult(111, 11, 20260715, 40, { ciap: 21 });
    consult(124, 24, 20261001, 40, { ciap: 20 });
    consult(126, 26, 20260701, 40, { ciap: 20 });
    await mw.insert('tb_fat_atendimento_individual', consultations);
    await mw.insert('tb_fat_atd_ind_problemas', problems);
    const performed = (id: number, citizen: number, proc: number, day: number): Row => ({
      co_seq_fat_proced_atend_proced: id,
      co_fat_cidadao_pec: citizen,
      co_dim_procedimento: proc,
      co_dim_tempo: day,
    });
    await mw.insert('tb_fat_proced_atend_proced', [
      performed(1, 1, 32, 20230901),
      performed(2, 11, 32, 20260715),
      performed(3, 8, 32, 20260101),
      performed(4, 9, 32, 20260101),
      performed(5, 21, 32, 20260701),
      performed(6, 23, 32, 20260701),
      performed(7, 24, 32, 20260701),
    ]);
    const declared = (id: number, citizen: number, identity: number | null, day: number): Row => ({
      co_seq_fat_cad_individual: id,
      co_fat_cidadao_pec: citizen,
      co_dim_identidade_genero: identity,
      co_dim_tempo: day,
    });
    await mw.insert('tb_fat_cad_individual', [
      declared(1, 21, 5, 20260301),
      declared(2, 22, 5, 20260301),
      declared(3, 23, 6, 20260301),
      declared(4, 24, 1, 20260301),
      declared(5, 24, 5, 20260915),
      declared(6, 26, 5, 20260301),
      declared(7, 28, 8, 20260301),
      declared(8, 29, null, 20260301),
    ]);
    const exam = (id: number, citizen: number, requested: number, evaluated: number, day: number): Row => ({
      co_seq_fat_atd_ind_procedimentos: id,
      co_fat_atd_ind: 100 + citizen,
      co_fat_cidadao_pec: citizen,
      co_dim_procedimento_solicitado: requested,
      co_dim_procedimento_avaliado: evaluated,
      co_dim_tempo: day,
    });
    await mw.insert('tb_fat_atd_ind_procedimentos', [
      exam(1, 1, 37, 1, 20240831),
      exam(2, 2, 1, 37, 20240901),
      exam(3, 6, 35, 1, 20220101),
      exam(4, 7, 36, 1, 20230831),
      exam(5, 21, 37, 1, 20260701),
      exam(6, 28, 1, 37, 20260701),
    ]);
    const dose = (id: number, citizen: number, vaccine: number, day: number): Row => ({
      co_seq_fat_vacinacao_vacina: id,
      co_fat_cidadao_pec: citizen,
      co_dim_imunobiologico: vaccine,
      co_dim_tempo_vacina_aplicada: day,
      co_dim_tempo: day,
    });
    await mw.insert('tb_fat_vacinacao_vacina', [dose(1, 3, 70, 20210830), dose(2, 4, 71, 20260831), dose(3, 5, 70, 20260801), dose(4, 22, 70, 20260101)]);
    for (const m of MARTS) await refreshMartDuckDb(w, m);
  });
  afterAll(() => {
    mw?.dispose();
  });

  const team = (ine: string) =>
    w.query(
      `SELECT denominator::INTEGER AS d, numerator::INTEGER AS n, score_mean AS score,
         gp_1_met::INTEGER AS a, gp_1_eligible::INTEGER AS a_of, gp_2_met::INTEGER AS b, gp_2_eligible::INTEGER AS b_of,
         gp_3_met::INTEGER AS c, gp_3_eligible::INTEGER AS c_of, gp_4_met::INTEGER AS d_met, gp_4_eligible::INTEGER AS d_of,
         gp_5_met AS e, gp_5_eligible AS e_of
       FROM marts.indicator_team_period WHERE indicator_id = 'c7_womens_cancer_prevention' AND quadrimestre = '2026Q2' AND team_ine = $1`,
      [ine],
    );

  it('each practice over its own ages: inclusion, exclusion and window boundaries; the score is Σ points × met / eligible', async () => {
    expect(await team('0000000011')).toEqual([{ d: 7, n: 3, score: 60, a: 3, a_of: 4, b: 1, b_of: 2, c: 4, c_of: 6, d_met: 1, d_of: 2, e: null, e_of: null }]);
  });

  it('per person: NULL where a practice does not apply, 0 where it applies and is missing; the person score is NULL', async () => {
    const rows = await w.query(
      `SELECT person_key AS p, gp_1::INTEGER AS a, gp_2::INTEGER AS b, gp_3::INTEGER AS c, gp_4::INTEGER AS d, in_numerator::INTEGER AS n, score
       FROM marts.indicator_person_period WHERE indicator_id = 'c7_womens_cancer_prevention' AND quadrimestre = '2026Q2' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { p: 'cpf:g1', a: 1, b: null, c: 0, d: 1, n: 0, score: null },
      { p: 'cpf:g6', a: 0, b: null, c: 1, d: null, n: 0, score: null },
      { p: 'cpf:g8', a: 0, b: null, c: 0, d: 1, n: 0, score: null },
      { p: 'cpf:g9', a: 0, b: null, c: 0, d: 0, n: 0, score: null },
      { p: 'cpf:w1', a: 1, b: null, c: 1, d: 0, n: 0, score: null },
      { p: 'cpf:w10', a: 1, b: null, c: 1, d: null, n: 1, score: null },
      { p: 'cpf:w11', a: 1, b: null, c: 0, d: null, n: 0, score: null },
      { p: 'cpf:w2', a: null, b: null, c: 1, d: 1, n: 1, score: null },
      { p: 'cpf:w3', a: null, b: 0, c: 0, d: null, n: 0, score: null },
      { p: 'cpf:w4', a: null, b: 1, c: null, d: null, n: 1, score: null },
      { p: 'cpf:w6', a: 1, b: null, c: 0, d: null, n: 0, score: null },
      { p: 'cpf:w7', a: 0, b: null, c: 1, d: null, n: 0, score: null },
    ]);
  });

  it('a practice nobody of the team is eligible for leaves the score, the others are scaled to 100', async () => {
    expect(await team('0000000022')).toEqual([{ d: 1, n: 0, score: 40, a: 1, a_of: 1, b: null, b_of: null, c: 0, c_of: 1, d_met: null, d_of: null, e: null, e_of: null }]);
  });

  it('the HPV molecular test counts from 2026 only: W6 meets A in 2026Q2, not in 2025Q3', async () => {
    const rows = await w.query(
      `SELECT quadrimestre AS q, gp_1::INTEGER AS a FROM marts.indicator_person_period
       WHERE indicator_id = 'c7_womens_cancer_prevention' AND person_key = 'cpf:w6' AND quadrimestre IN ('2025Q3', '2026Q2') ORDER BY 1`,
    );
    expect(rows).toEqual([
      { q: '2025Q3', a: 0 },
      { q: '2026Q2', a: 1 },
    ]);
  });

  it('by gender identity: transgender men in A, C and D, never B; transgender women out; the sex decides when none is declared', async () => {
    expect(await team('0000000033')).toEqual([{ d: 3, n: 0, score: 52.38, a: 1, a_of: 3, b: null, b_of: null, c: 1, c_of: 3, d_met: 2, d_of: 2, e: null, e_of: null }]);
  });

  it('the identity is the winning registration version of each period: before any, the recorded sex decides', async () => {
    const rows = await w.query(
      `SELECT person_key AS p, quadrimestre AS q, gp_1::INTEGER AS a, gp_2::INTEGER AS b, gp_3::INTEGER AS c, gp_4::INTEGER AS d FROM marts.indicator_person_period
       WHERE indicator_id = 'c7_womens_cancer_prevention' AND person_key IN ('cpf:g2', 'cpf:g3', 'cpf:g4') ORDER BY 1, 2`,
    );
    expect(rows).toEqual([
      // G3 declares "Mulher transgênero" on 2026-03-01: in 2025Q3 no registration yet, so the female sex counts her.
      { p: 'cpf:g3', q: '2025Q3', a: 0, b: null, c: 0, d: 0 },
      // G4 declares "Homem transgênero" on 2026-09-15: out of 2026Q2 (the winning version declares nothing), in 2026Q3.
      { p: 'cpf:g4', q: '2026Q3', a: 1, b: null, c: 1, d: 0 },
    ]);
  });

  it('a PEC without the identity column (NULL): the recorded sex decides, as before the rule', async () => {
    const rows = await w.query(
      `SELECT team_ine AS t, gp_1::INTEGER AS a, gp_2::INTEGER AS b, gp_3::INTEGER AS c, gp_4::INTEGER AS d FROM marts.indicator_person_period
       WHERE indicator_id = 'c7_womens_cancer_prevention' AND person_key = 'cpf:g9' AND quadrimestre = '2026Q2'`,
    );
    expect(rows).toEqual([{ t: '-', a: 0, b: null, c: 0, d: 0 }]);
  });
});
