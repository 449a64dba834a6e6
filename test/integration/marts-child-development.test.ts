import type { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { openMartWarehouse, type MartWarehouse, type Row } from '../support/mart-warehouse';
import { MARTS, refreshMartDuckDb } from '../../shared/marts/marts';

/**
 * C2, child development (docs/indicators/child-development.md), on a hand-made warehouse. A = 3509502, team 2 = T1.
 * CBO 40 doctor 225142, 41 nurse 223565, 42 nursing technician 322205, 46 community health agent 515105. Visits are
 * recorded with the motive "child" (st_acomp_crianca) unless said otherwise.
 * 2026Q2 (2026-05-01 … 2026-08-31): children up to two at some day of it.
 *   K1 born 2026-03-01: nurse consultations coded ABP004 (child care) on 9 days from 2026-03-31 (day 30 of life), 8 of
 *      them with weight and height, plus an anthropometric evaluation procedure on 2026-07-01 → A, B, C (9 days);
 *      agent visits on day 30 and on 2026-08-31 (six months is 2026-09-01) → D; pentavalent, VIP and pneumococcal
 *      30+ days apart but no MMR yet → not E. Score 80.
 *   K2 born 2024-05-01 (second birthday on the period's first day: in): a doctor's A98 consultation on day 31 → not A;
 *      an agent visit on day 19 and another on day 40 recorded with neither motive "newborn" nor "child" → one visit → not D; hexavalent ×3 and VPC13 ×2, 60 days apart, hepatitis B at birth coded '09'; MMR on the
 *      day before the first birthday (does not count) and SCRV twice from it → E. Score 20.
 *   K3 born 2024-04-30 (turned two the day before the period): out. K5 deceased: out.
 *   K4 born 2025-01-01: a K86 consultation (not child care); agent visit on day 14, a nursing technician's visit, and an
 *      agent visit after six months → not D; pentavalent on 03-01, 03-20 (19 days: not counted) and 05-01 → 2 doses → not E.
 * Expected T1 2026Q2: denominator 3, numerator 0, practices met A 1, B 1, C 1, D 1, E 1; mean score (80 + 20 + 0) / 3.
 */
const A = '3509502';
describe('C2: consultations, anthropometry, agent visits and the vaccine schedule of children up to two', () => {
  let mw: MartWarehouse;
  let w: DuckDbWarehouse;
  beforeAll(async () => {
    mw = await openMartWarehouse('pec-c2-', A);
    w = mw.w;
    await mw.insert('tb_dim_equipe', [{ co_seq_dim_equipe: 2, nu_ine: '0000000011', no_equipe: 'ESF 1' }]);
    await mw.insert('tb_dim_cbo', [
      { co_seq_dim_cbo: 40, nu_cbo: '225142' },
      { co_seq_dim_cbo: 41, nu_cbo: '223565' },
      { co_seq_dim_cbo: 42, nu_cbo: '322205' },
      { co_seq_dim_cbo: 46, nu_cbo: '515105' },
    ]);
    await mw.insert('tb_dim_cid', [{ co_seq_dim_cid: 1, nu_cid: '-' }]);
    await mw.insert('tb_dim_ciap', [
      { co_seq_dim_ciap: 1, nu_ciap: '-' },
      { co_seq_dim_ciap: 20, nu_ciap: 'ABP004' },
      { co_seq_dim_ciap: 21, nu_ciap: 'A98' },
      { co_seq_dim_ciap: 22, nu_ciap: 'K86' },
    ]);
    await mw.insert('tb_dim_procedimento', [{ co_seq_dim_procedimento: 30, co_proced: '0101040024' }]);
    const vaccines: [number, string][] = [
      [70, '42'],
      [71, '22'],
      [72, '26'],
      [73, '43'],
      [74, '59'],
      [75, '24'],
      [76, '56'],
      [77, '09'],
    ];
    await mw.insert(
      'tb_dim_imunobiologico',
      vaccines.map(([id, code]) => ({ co_seq_dim_imunobiologico: id, nu_identificador: code })),
    );
    const births: [number, number, number][] = [
      [1, 20260301, 0],
      [2, 20240501, 0],
      [3, 20240430, 0],
      [4, 20250101, 0],
      [5, 20260101, 1],
    ];
    await mw.insert(
      'tb_fat_cidadao_pec',
      births.map(([id, birth, dead]) => ({ co_seq_fat_cidadao_pec: id, nu_cpf_cidadao: `k${id}`, co_dim_tempo_nascimento: birth, co_dim_equipe_vinc: 2, st_faleceu: dead })),
    );
    let id = 0;
    const consultations: Row[] = [];
    const problems: Row[] = [];
    const consult = (citizen: number, day: number, cbo: number, ciap: number, measured = false) => {
      const c = ++id;
      consultations.push({
        co_seq_fat_atd_ind: c,
        co_fat_cidadao_pec: citizen,
        co_dim_tempo: day,
        co_dim_cbo_1: cbo,
        nu_peso: measured ? 5 : null,
        nu_altura: measured ? 0.6 : null,
      });
      problems.push({ co_seq_fat_atd_ind_problemas: c, co_fat_atd_ind: c, co_fat_cidadao_pec: citizen, co_dim_cid: 1, co_dim_ciap: ciap, co_dim_tempo: day });
    };
    for (const day of [20260331, 20260410, 20260420, 20260430, 20260510, 20260520, 20260530, 20260610]) consult(1, day, 41, 20, true);
    consult(1, 20260620, 41, 20);
    consult(2, 20240601, 40, 21);
    consult(3, 20240601, 40, 20, true);
    consult(4, 20250110, 40, 22);
    consult(4, 20260915, 40, 22); // so that 2026Q3 exists

    await mw.insert('tb_fat_atendimento_individual', consultations);
    await mw.insert('tb_fat_atd_ind_problemas', problems);
    await mw.insert('tb_fat_proced_atend_proced', [{ co_seq_fat_proced_atend_proced: 1, co_fat_cidadao_pec: 1, co_dim_procedimento: 30, co_dim_tempo: 20260701 }]);
    // Motive "child" unless said otherwise; `null`: a visit recorded with neither "newborn" nor "child".
    const visit = (citizen: number, day: number, cbo = 46, motive: 'newborn' | 'child' | null = 'child'): Row => ({
      co_seq_fat_visita_domiciliar: ++id,
      co_fat_cidadao_pec: citizen,
      co_dim_cbo: cbo,
      co_dim_tempo: day,
      st_acomp_recem_nascido: motive === 'newborn' ? 1 : 0,
      st_acomp_crianca: motive === 'child' ? 1 : 0,
      st_acomp_gestante: 0,
    });
    await mw.insert('tb_fat_visita_domiciliar', [
      visit(1, 20260331, 46, 'newborn'),
      visit(1, 20260831),
      visit(2, 20240520),
      visit(2, 20240610, 46, null),
      visit(4, 20250115),
      visit(4, 20250301, 42),
      visit(4, 20250801),
    ]);
    const dose = (citizen: number, vaccine: number, day: number): Row => ({
      co_seq_fat_vacinacao_vacina: ++id,
      co_fat_cidadao_pec: citizen,
      co_dim_imunobiologico: vaccine,
      co_dim_tempo_vacina_aplicada: day,
      co_dim_tempo: day,
    });
    await mw.insert('tb_fat_vacinacao_vacina', [
      ...[20260501, 20260531, 20260701].flatMap((d) => [dose(1, 70, d), dose(1, 71, d)]),
      dose(1, 72, 20260501),
      dose(1, 72, 20260701),
      dose(2, 77, 20240501),
      ...[20240701, 20240901, 20241101].map((d) => dose(2, 73, d)),
      dose(2, 74, 20240701),
      dose(2, 74, 20240901),
      dose(2, 75, 20250430),
      dose(2, 76, 20250501),
      dose(2, 76, 20251101),
      dose(4, 77, 20250101),
      ...[20250301, 20250320, 20250501].map((d) => dose(4, 70, d)),
    ]);
    for (const m of MARTS) await refreshMartDuckDb(w, m);
  });
  afterAll(() => {
    mw?.dispose();
  });

  it('counts the children up to two in the period, day 30 and six months of life, 9 days, spaced doses and MMR from 12 months', async () => {
    const rows = await w.query(
      `SELECT person_key AS p, gp_1::INTEGER AS a, gp_2::INTEGER AS b, gp_3::INTEGER AS c, gp_4::INTEGER AS d, gp_5::INTEGER AS e, score
       FROM marts.indicator_person_period WHERE indicator_id = 'c2_child_development' AND quadrimestre = '2026Q2' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { p: 'cpf:k1', a: 1, b: 1, c: 1, d: 1, e: 0, score: 80 },
      { p: 'cpf:k2', a: 0, b: 0, c: 0, d: 0, e: 1, score: 20 },
      { p: 'cpf:k4', a: 0, b: 0, c: 0, d: 0, e: 0, score: 0 },
    ]);
    const [team] = await w.query(
      `SELECT denominator::INTEGER AS d, numerator::INTEGER AS n, score_mean AS score, gp_1_met::INTEGER AS a, gp_5_met::INTEGER AS e, gp_6_met AS f
       FROM marts.indicator_team_period WHERE indicator_id = 'c2_child_development' AND quadrimestre = '2026Q2' AND team_ine = '0000000011'`,
    );
    expect(team).toEqual({ d: 3, n: 0, score: Math.round((100 * (80 + 20 + 0)) / 3) / 100, a: 1, e: 1, f: null });
  });

  it('a child counts while up to two: K2 is in 2026Q2 (second birthday on its first day), not in 2026Q3', async () => {
    const rows = await w.query(
      `SELECT person_key AS p, quadrimestre AS q FROM marts.indicator_person_period
       WHERE indicator_id = 'c2_child_development' AND quadrimestre IN ('2026Q2', '2026Q3') ORDER BY 2, 1`,
    );
    expect(rows).toEqual([
      { p: 'cpf:k1', q: '2026Q2' },
      { p: 'cpf:k2', q: '2026Q2' },
      { p: 'cpf:k4', q: '2026Q2' },
      { p: 'cpf:k1', q: '2026Q3' },
      { p: 'cpf:k4', q: '2026Q3' },
    ]);
  });
});
