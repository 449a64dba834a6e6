import type { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { openMartWarehouse, type MartWarehouse, type Row } from '../support/mart-warehouse';
import { MARTS, refreshMartDuckDb } from '../../shared/marts/marts';

/**
 * Previne Brasil 5 (docs/indicators/vaccination.md) on a hand-made warehouse. A = 3509502, team 2 = T1.
 * Vaccines: 42 = pentavalent (id 50), 22 = VIP (id 51), 28 = VOP (id 52, does not count). Doses: 3 = third (id 60), 2 = second (id 61).
 * Quadrimestres with consultations: 2026Q2 (May–Aug; data as of 2026-11-22, closed).
 * Denominator: children whose first birthday falls in 2026-05-01 … 2026-08-31, i.e. born 2025-05-01 … 2025-08-31.
 *   K1 born 2025-05-01 (first day): penta 3 and VIP 3 → numerator.
 *   K2 born 2025-08-31 (last day): penta 3 only → not.
 *   K3 born 2025-04-30 (day before): out of the denominator (its birthday is in 2026Q1).
 *   K4 born 2025-09-01 (day after): out.
 *   K5 born 2025-06-15: penta 3 and VOP (oral polio) 3 → not (VIP required).
 *   K6 born 2025-07-01: penta 3 and VIP 2 (second dose) → not.
 *   K7 born 2025-07-02: penta 3 and VIP 3, the VIP on 2026-09-01 (after the quadrimestre) → not.
 *   Expected 2026Q2, T1: 5 children (K1, K2, K5, K6, K7), 1 vaccinated; penta 3 for 5, VIP 3 (in time) for 1.
 */
const A = '3509502';
describe('Previne 5: third doses of pentavalent and VIP for children turning one in the quadrimestre', () => {
  let mw: MartWarehouse;
  let w: DuckDbWarehouse;
  beforeAll(async () => {
    mw = await openMartWarehouse('pec-vacc-', A);
    w = mw.w;
    await mw.insert('tb_dim_equipe', [{ co_seq_dim_equipe: 2, nu_ine: '0000000011', no_equipe: 'ESF 1' }]);
    await mw.insert('tb_dim_imunobiologico', [
      { co_seq_dim_imunobiologico: 50, nu_identificador: '42' },
      { co_seq_dim_imunobiologico: 51, nu_identificador: '22' },
      { co_seq_dim_imunobiologico: 52, nu_identificador: '28' },
    ]);
    await mw.insert('tb_dim_dose_imunobiologico', [
      { co_seq_dim_dose_imunobiologico: 60, nu_identificador: '3' },
      { co_seq_dim_dose_imunobiologico: 61, nu_identificador: '2' },
    ]);
    const births: [number, number][] = [
      [1, 20250501],
      [2, 20250831],
      [3, 20250430],
      [4, 20250901],
      [5, 20250615],
      [6, 20250701],
      [7, 20250702],
    ];
    await mw.insert(
      'tb_fat_cidadao_pec',
      births.map(([id, birth]) => ({ co_seq_fat_cidadao_pec: id, nu_cpf_cidadao: `k${id}`, co_dim_tempo_nascimento: birth, co_dim_equipe_vinc: 2, st_faleceu: 0 })),
    );
    // One consultation so that 2026Q2 exists (periods come from consultations), and history from 2025-04.
    await mw.insert('tb_fat_atendimento_individual', [
      { co_seq_fat_atd_ind: 1, co_fat_cidadao_pec: 3, co_dim_tempo: 20250410 },
      { co_seq_fat_atd_ind: 2, co_fat_cidadao_pec: 1, co_dim_tempo: 20260610 },
    ]);
    let id = 0;
    const dose = (citizen: number, vaccine: number, doseId: number, day: number): Row => ({
      co_seq_fat_vacinacao_vacina: ++id,
      co_fat_cidadao_pec: citizen,
      co_dim_imunobiologico: vaccine,
      co_dim_dose_imunobiologico: doseId,
      co_dim_tempo_vacina_aplicada: day,
      co_dim_tempo: day,
    });
    await mw.insert('tb_fat_vacinacao_vacina', [
      dose(1, 50, 60, 20251101),
      dose(1, 51, 60, 20251101),
      dose(2, 50, 60, 20260301),
      dose(3, 50, 60, 20251001),
      dose(3, 51, 60, 20251001),
      dose(5, 50, 60, 20251215),
      dose(5, 52, 60, 20251215),
      dose(6, 50, 60, 20260101),
      dose(6, 51, 61, 20260101),
      dose(7, 50, 60, 20260102),
      dose(7, 51, 60, 20260901),
    ]);
    for (const m of MARTS) await refreshMartDuckDb(w, m);
  });
  afterAll(() => {
    mw?.dispose();
  });

  it('counts each birthday boundary, the third doses only, VIP not VOP, doses up to the end of the quadrimestre', async () => {
    const rows = await w.query(
      `SELECT quadrimestre, team_ine, denominator::INTEGER AS d, numerator::INTEGER AS n, gp_1_met::INTEGER AS penta, gp_2_met::INTEGER AS vip, below_target::INTEGER AS below,
         history_complete::INTEGER AS history
       FROM marts.indicator_team_period WHERE indicator_id = 'previne_vaccination' ORDER BY 1`,
    );
    expect(rows).toEqual([
      // 2025Q1 (the consultation of 2025-04-10) has no child turning one. History from 2025-04 covers the 16 months to 2026-08.
      { quadrimestre: '2026Q2', team_ine: '0000000011', d: 5, n: 1, penta: 5, vip: 1, below: 1, history: 1 },
    ]);
    const people = await w.query(`SELECT person_key FROM marts.indicator_person_period WHERE indicator_id = 'previne_vaccination' AND in_numerator = 1`);
    expect(people).toEqual([{ person_key: 'cpf:k1' }]);
  });
});
