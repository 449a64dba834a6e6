import type { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { openMartWarehouse, type MartWarehouse, type Row } from '../support/mart-warehouse';
import { MARTS, refreshMartDuckDb } from '../../shared/marts/marts';

/**
 * Previne Brasil 1 and 2 (docs/indicators/prenatal.md) on a hand-made warehouse. A = 3509502, team 2 = T1.
 * CBO 40 = doctor, 42 = nursing technician. CIAP 20 = W78 (pregnancy). Procedures: 30 = ABPG026 (syphilis rapid test),
 * 31 = 0214010040 (HIV rapid test), 32 = ABEX018 (HIV serology), 33 = 0202031179 (syphilis, pregnant woman), 34 = ABEX021 (not a listed code).
 * A pregnancy ends LMP + 294 days; it counts in the quadrimestre where it ends: 2026Q2 (May–Aug) takes LMPs 2025-07-11 … 2025-11-10.
 * Every consultation is by the doctor, records W78 and the LMP, unless said otherwise.
 *   G1 LMP 2025-08-01 (ends 05-22): 6 consultations from day 60 → both practices; syphilis rapid test and HIV serology requested → both exams.
 *   G2 LMP 2025-08-15 (ends 06-05): 6 consultations, the first on day 91 (13 weeks) → not by the 12th week; syphilis exam only.
 *   G3 LMP 2025-09-01 (ends 06-22): 5 by the doctor from day 30 and a 6th by a nursing technician → 5 count; HIV rapid test; ABEX021 does not count.
 *   G4 LMP 2025-12-01 (ends 09-21): 2026Q3; consultations on day 30 and day 280.
 *   G5 LMP 2025-07-11 (ends 2026-05-01, the first day of Q2): one consultation on day 10.
 *   G6 LMP unknown (30001231): in no denominator.
 *   G7 LMP 2025-07-10 (ends 2026-04-30, the last day of Q1): one consultation on day 10.
 * Previne 1: 2026Q1 {G7} 0 (first by week 12: 1); 2026Q2 {G1,G2,G3,G5} 1 (≥ 6: G1, G2; by week 12: G1, G3, G5); 2026Q3 {G4} 0 (by week 12: 1).
 * Previne 2: 2026Q1 0/1; 2026Q2 1/4 (syphilis: G1, G2; HIV: G1, G3); 2026Q3 0/1.
 * Previne 3 (dental consultations, tb_fat_atendimento_odonto; CBO 44 = dentist 223293, 45 = oral-health technician 322405):
 *   G1 dentist 2025-10-15 → counts; G2 dentist 2025-08-14, the day before the LMP → no; G3 technician 2025-11-01 → no;
 *   G5 dentist 2026-04-30 (day 293, the last day of the pregnancy) → counts; G7 dentist 2026-04-30 (day 294, after its end) → no;
 *   G6 dentist 2026-01-01 (LMP unknown: in no denominator).
 * Previne 3: 2026Q1 0/1; 2026Q2 2/4 (G1, G5); 2026Q3 0/1.
 */
const A = '3509502';
describe('Previne 1 and 2: prenatal consultations and exams of the pregnancies ending in each quadrimestre', () => {
  let mw: MartWarehouse;
  let w: DuckDbWarehouse;
  beforeAll(async () => {
    mw = await openMartWarehouse('pec-prenatal-', A);
    w = mw.w;
    await mw.insert('tb_dim_equipe', [{ co_seq_dim_equipe: 2, nu_ine: '0000000011', no_equipe: 'ESF 1' }]);
    await mw.insert('tb_dim_cbo', [
      { co_seq_dim_cbo: 40, nu_cbo: '225142' },
      { co_seq_dim_cbo: 42, nu_cbo: '322205' },
      { co_seq_dim_cbo: 44, nu_cbo: '223293' },
      { co_seq_dim_cbo: 45, nu_cbo: '322405' },
    ]);
    await mw.insert('tb_dim_cid', [{ co_seq_dim_cid: 1, nu_cid: '-' }]);
    await mw.insert('tb_dim_ciap', [{ co_seq_dim_ciap: 20, nu_ciap: 'W78' }]);
    await mw.insert('tb_dim_procedimento', [
      { co_seq_dim_procedimento: 1, co_proced: '-' },
      { co_seq_dim_procedimento: 30, co_proced: 'ABPG026' },
      { co_seq_dim_procedimento: 31, co_proced: '0214010040' },
      { co_seq_dim_procedimento: 32, co_proced: 'ABEX018' },
      { co_seq_dim_procedimento: 33, co_proced: '0202031179' },
      { co_seq_dim_procedimento: 34, co_proced: 'ABEX021' },
    ]);
    await mw.insert(
      'tb_fat_cidadao_pec',
      [1, 2, 3, 4, 5, 6, 7].map((id) => ({ co_seq_fat_cidadao_pec: id, nu_cpf_cidadao: `g${id}`, co_dim_equipe_vinc: 2, st_faleceu: 0 })),
    );
    let consultationId = 0;
    const consultations: Row[] = [];
    const problems: Row[] = [];
    const visit = (citizen: number, day: number, lmp: number, cbo = 40) => {
      const id = ++consultationId;
      consultations.push({ co_seq_fat_atd_ind: id, co_fat_cidadao_pec: citizen, co_dim_tempo: day, co_dim_tempo_dum: lmp, co_dim_cbo_1: cbo });
      problems.push({ co_seq_fat_atd_ind_problemas: id, co_fat_atd_ind: id, co_fat_cidadao_pec: citizen, co_dim_cid: 1, co_dim_ciap: 20, co_dim_tempo: day });
      return id;
    };
    const g1 = [20250930, 20251030, 20251129, 20251229, 20260128, 20260227].map((d) => visit(1, d, 20250801));
    const g2 = [20251114, 20251213, 20260112, 20260211, 20260313, 20260412].map((d) => visit(2, d, 20250815));
    const g3 = [20251001, 20251031, 20251130, 20251230, 20260129].map((d) => visit(3, d, 20250901));
    visit(3, 20260228, 20250901, 42);
    visit(4, 20251231, 20251201);
    visit(4, 20260907, 20251201);
    visit(5, 20250721, 20250711);
    visit(6, 20260101, 30001231);
    visit(7, 20250720, 20250710);
    // Quadrimestres exist where there are consultations: one without a pregnancy code in 2026Q2.
    consultations.push({ co_seq_fat_atd_ind: ++consultationId, co_fat_cidadao_pec: 6, co_dim_tempo: 20260601, co_dim_tempo_dum: 30001231, co_dim_cbo_1: 40 });
    await mw.insert('tb_fat_atendimento_individual', consultations);
    await mw.insert('tb_fat_atd_ind_problemas', problems);
    await mw.insert('tb_fat_proced_atend_proced', [
      { co_seq_fat_proced_atend_proced: 1, co_fat_cidadao_pec: 1, co_dim_procedimento: 30, co_dim_tempo: 20250930 },
      { co_seq_fat_proced_atend_proced: 2, co_fat_cidadao_pec: 3, co_dim_procedimento: 31, co_dim_tempo: 20251001 },
    ]);
    const exam = (id: number, consultation: number, citizen: number, requested: number, day: number): Row => ({
      co_seq_fat_atd_ind_procedimentos: id,
      co_fat_atd_ind: consultation,
      co_fat_cidadao_pec: citizen,
      co_dim_procedimento_solicitado: requested,
      co_dim_procedimento_avaliado: 1,
      co_dim_tempo: day,
    });
    await mw.insert('tb_fat_atd_ind_procedimentos', [exam(1, g1[0]!, 1, 32, 20250930), exam(2, g2[0]!, 2, 33, 20251114), exam(3, g3[0]!, 3, 34, 20251001)]);
    const dental = (id: number, citizen: number, day: number, cbo = 44): Row => ({ co_seq_fat_atd_odnt: id, co_fat_cidadao_pec: citizen, co_dim_cbo_1: cbo, co_dim_tempo: day });
    await mw.insert('tb_fat_atendimento_odonto', [
      dental(1, 1, 20251015),
      dental(2, 2, 20250814),
      dental(3, 3, 20251101, 45),
      dental(4, 5, 20260430),
      dental(5, 7, 20260430),
      dental(6, 6, 20260101),
    ]);
    for (const m of MARTS) await refreshMartDuckDb(w, m);
  });
  afterAll(() => {
    mw?.dispose();
  });

  const rows = (indicator: string) =>
    w.query(
      `SELECT quadrimestre AS q, denominator::INTEGER AS d, numerator::INTEGER AS n, gp_1_met::INTEGER AS g1, gp_2_met::INTEGER AS g2
       FROM marts.indicator_team_period WHERE indicator_id = $1 ORDER BY 1`,
      [indicator],
    );

  it('Previne 1: at least 6 consultations by a doctor or nurse, the first by week 12; LMP + 294 days places the pregnancy', async () => {
    expect(await rows('previne_prenatal_consultations')).toEqual([
      { q: '2026Q1', d: 1, n: 0, g1: 0, g2: 1 },
      { q: '2026Q2', d: 4, n: 1, g1: 2, g2: 3 },
      { q: '2026Q3', d: 1, n: 0, g1: 0, g2: 1 },
    ]);
  });

  it('Previne 2: syphilis and HIV, rapid test performed or exam requested/evaluated during the pregnancy', async () => {
    expect(await rows('previne_prenatal_exams')).toEqual([
      { q: '2026Q1', d: 1, n: 0, g1: 0, g2: 0 },
      { q: '2026Q2', d: 4, n: 1, g1: 2, g2: 2 },
      { q: '2026Q3', d: 1, n: 0, g1: 0, g2: 0 },
    ]);
  });

  it('Previne 3: a consultation by a dentist (CBO 2232) during [LMP, LMP + 294); the technician and days outside do not count', async () => {
    expect(await rows('previne_prenatal_dental')).toEqual([
      { q: '2026Q1', d: 1, n: 0, g1: 0, g2: null },
      { q: '2026Q2', d: 4, n: 2, g1: 2, g2: null },
      { q: '2026Q3', d: 1, n: 0, g1: 0, g2: null },
    ]);
  });
});
