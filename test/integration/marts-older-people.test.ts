import type { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { openMartWarehouse, type MartWarehouse, type Row } from '../support/mart-warehouse';
import { MARTS, refreshMartDuckDb } from '../../shared/marts/marts';

/**
 * C6, care of older people (docs/indicators/older-people.md), on a hand-made warehouse. A = 3509502, team 2 = T1.
 * CBO 40 = doctor 225142, 42 = nursing technician 322205, 46 = community health agent 515105.
 * Vaccines: 70 = influenza (national code 33), 71 = pentavalent (42, not influenza).
 * 2026Q2 (May–Aug): age on 2026-08-31; the 12-month window is 2025-09-01 … 2026-08-31.
 *   E1 born 1966-08-31 (60 on the last day): doctor 2026-01-15 with weight and height; agent visits 2025-10-01 and 2025-11-01
 *      (31 days apart); influenza 2025-09-01 (the window's first day) → every practice, score 100.
 *   E2 born 1966-09-01 (59 on the last day): out of the denominator, though followed like E1.
 *   E3 born 1950-01-01: nursing technician 2026-03-01 with weight but no height; visits 2026-01-01 and 2026-01-20 (19 days);
 *      influenza 2025-08-31 (the day before the window); pentavalent in the window → nothing, score 0.
 *   E4 born 1955-05-05: doctor 2025-08-31 (before the window); weight and height by the technician 2026-08-01; one visit;
 *      influenza 2026-08-31 (the last day) → practices 2 and 4, score 50.
 *   E5 born 1940-01-01, deceased: out. E6 birth date unknown (30001231): out.
 * Expected 2026Q2: denominator 3, numerator 1 (E1); consultation 1, anthropometry 2, visits 1, influenza 2; mean score 50.
 */
const A = '3509502';
describe('C6: consultation, anthropometry, agent visits and influenza vaccine of people aged 60 or more', () => {
  let mw: MartWarehouse;
  let w: DuckDbWarehouse;
  beforeAll(async () => {
    mw = await openMartWarehouse('pec-older-', A);
    w = mw.w;
    await mw.insert('tb_dim_equipe', [{ co_seq_dim_equipe: 2, nu_ine: '0000000011', no_equipe: 'ESF 1' }]);
    await mw.insert('tb_dim_cbo', [
      { co_seq_dim_cbo: 40, nu_cbo: '225142' },
      { co_seq_dim_cbo: 42, nu_cbo: '322205' },
      { co_seq_dim_cbo: 46, nu_cbo: '515105' },
    ]);
    await mw.insert('tb_dim_imunobiologico', [
      { co_seq_dim_imunobiologico: 70, nu_identificador: '33' },
      { co_seq_dim_imunobiologico: 71, nu_identificador: '42' },
    ]);
    await mw.insert('tb_dim_dose_imunobiologico', [{ co_seq_dim_dose_imunobiologico: 60, nu_identificador: '1' }]);
    const births: [number, number, number][] = [
      [1, 19660831, 0],
      [2, 19660901, 0],
      [3, 19500101, 0],
      [4, 19550505, 0],
      [5, 19400101, 1],
      [6, 30001231, 0],
    ];
    await mw.insert(
      'tb_fat_cidadao_pec',
      births.map(([id, birth, dead]) => ({ co_seq_fat_cidadao_pec: id, nu_cpf_cidadao: `e${id}`, co_dim_tempo_nascimento: birth, co_dim_equipe_vinc: 2, st_faleceu: dead })),
    );
    let id = 0;
    const consultation = (citizen: number, day: number, cbo: number, weight: number | null, height: number | null): Row => ({
      co_seq_fat_atd_ind: ++id,
      co_fat_cidadao_pec: citizen,
      co_dim_tempo: day,
      co_dim_cbo_1: cbo,
      nu_peso: weight,
      nu_altura: height,
    });
    await mw.insert('tb_fat_atendimento_individual', [
      consultation(1, 20260115, 40, 70, 170),
      consultation(2, 20260115, 40, 70, 170),
      consultation(3, 20260301, 42, 80, null),
      consultation(4, 20250831, 40, null, null),
      consultation(4, 20260801, 42, 60, 160),
      consultation(5, 20260115, 40, 70, 170),
      consultation(6, 20260115, 40, 70, 170),
    ]);
    const visit = (citizen: number, day: number): Row => ({ co_seq_fat_visita_domiciliar: ++id, co_fat_cidadao_pec: citizen, co_dim_cbo: 46, co_dim_tempo: day });
    await mw.insert('tb_fat_visita_domiciliar', [
      visit(1, 20251001),
      visit(1, 20251101),
      visit(2, 20251001),
      visit(2, 20251101),
      visit(3, 20260101),
      visit(3, 20260120),
      visit(4, 20260301),
    ]);
    const dose = (citizen: number, vaccine: number, day: number): Row => ({
      co_seq_fat_vacinacao_vacina: ++id,
      co_fat_cidadao_pec: citizen,
      co_dim_imunobiologico: vaccine,
      co_dim_dose_imunobiologico: 60,
      co_dim_tempo_vacina_aplicada: day,
      co_dim_tempo: day,
    });
    await mw.insert('tb_fat_vacinacao_vacina', [
      dose(1, 70, 20250901),
      dose(2, 70, 20250901),
      dose(3, 70, 20250831),
      dose(3, 71, 20260101),
      dose(4, 70, 20260831),
      dose(5, 70, 20260101),
    ]);
    for (const m of MARTS) await refreshMartDuckDb(w, m);
  });
  afterAll(() => {
    mw?.dispose();
  });

  it('counts age 60 on the last day, the 12-month window boundaries, doctor or nurse only, visits 30 days apart, influenza only', async () => {
    const rows = await w.query(
      `SELECT quadrimestre AS q, denominator::INTEGER AS d, numerator::INTEGER AS n, score_mean AS score,
         gp_1_met::INTEGER AS g1, gp_2_met::INTEGER AS g2, gp_3_met::INTEGER AS g3, gp_4_met::INTEGER AS g4, gp_5_met::INTEGER AS g5
       FROM marts.indicator_team_period WHERE indicator_id = 'c6_older_people' AND quadrimestre = '2026Q2'`,
    );
    expect(rows).toEqual([{ q: '2026Q2', d: 3, n: 1, score: 50, g1: 1, g2: 2, g3: 1, g4: 2, g5: null }]);
  });
});
