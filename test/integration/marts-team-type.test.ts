import type { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { openMartWarehouse, type MartWarehouse, type Row } from '../support/mart-warehouse';
import { MARTS, refreshMartDuckDb } from '../../shared/marts/marts';

/**
 * The team type (docs/indicators/common.md, "Team type"), on a hand-made warehouse. A = 3509502.
 * Transactional types (tb_tipo_equipe: sequential id → nu_ms): 56 → '70' ESF, 58 → '76' EAP, 49 → '49' (acronym
 * also "EAP": not an eAP), 57 → '71' ESB. DW teams (tb_dim_equipe) and their rows in tb_equipe, by INE:
 *   team 2, INE …11: two rows, both 56 → '70' (eSF; repeated rows with one type are no conflict)
 *   team 3, INE …12: 58 → '76' (eAP)
 *   team 4, INE …13: 49 → '49' (another type, whatever its acronym)
 *   team 5, INE …14: no row → unknown
 *   team 6, INE …15: rows 56 and 57 (two types for one INE) → unknown
 * People, one per team (citizen id = team id for the children, team id + 10 for the adults):
 *   children k2…k6 born 2026-03-01, each with one child-care consultation (ABP004) by a nurse on day 30 of life and
 *   nothing else → C2 in 2026Q2: A met, B, C, D, E not;
 *   adults h12…h16 with a hypertension consultation (K86) by a doctor on 2026-05-10 → Previne 6 and C5 in 2026Q2
 *   (h12 another on 2026-09-15, so that the open 2026Q3 exists);
 *   pregnant women w22 (team 2, eSF) and w23 (team 3, eAP), LMP 2026-03-01, one nurse W78 consultation on 2026-04-10
 *   (day 40) and nothing else → C3 in 2026Q2: A met; E and J not, except in full for the eAP team;
 *   k33 (team 3, eAP) born 2025-01-01 with every C2 practice but D: nurse ABP004 consultations with weight and height
 *   on day 20 and 8 more days by age one (A, B, C), hexavalent (43) on 2025-03-01, 05-01, 07-01, pneumococcal (26)
 *   on 03-01 and 05-01, MMR (24) on 2026-01-15 and 02-15 (E) → with D in full, in the numerator, score 100.
 */
const A = '3509502';
const INE = (team: number) => `00000000${team + 9}`;
const TEAMS = [2, 3, 4, 5, 6];

describe('team type: read from the transactional tables by INE, and the 2024-model rules that depend on it', () => {
  let mw: MartWarehouse;
  let w: DuckDbWarehouse;
  beforeAll(async () => {
    mw = await openMartWarehouse('pec-team-type-', A);
    w = mw.w;
    await mw.insert(
      'tb_dim_equipe',
      TEAMS.map((t) => ({ co_seq_dim_equipe: t, nu_ine: INE(t), no_equipe: `Equipe ${t}` })),
    );
    await mw.insert('tb_tipo_equipe', [
      { co_seq_tipo_equipe: 56, nu_ms: '70' },
      { co_seq_tipo_equipe: 58, nu_ms: '76' },
      { co_seq_tipo_equipe: 49, nu_ms: '49' },
      { co_seq_tipo_equipe: 57, nu_ms: '71' },
    ]);
    const equipe: [number, number][] = [
      [2, 56],
      [2, 56],
      [3, 58],
      [4, 49],
      [6, 56],
      [6, 57],
    ];
    await mw.insert(
      'tb_equipe',
      equipe.map(([team, type], k) => ({ co_seq_equipe: 100 + k, nu_ine: INE(team), tp_equipe: type })),
    );
    await mw.insert('tb_dim_cbo', [
      { co_seq_dim_cbo: 40, nu_cbo: '225142' },
      { co_seq_dim_cbo: 41, nu_cbo: '223565' },
    ]);
    await mw.insert('tb_dim_cid', [{ co_seq_dim_cid: 1, nu_cid: '-' }]);
    await mw.insert('tb_dim_ciap', [
      { co_seq_dim_ciap: 1, nu_ciap: '-' },
      { co_seq_dim_ciap: 20, nu_ciap: 'ABP004' },
      { co_seq_dim_ciap: 22, nu_ciap: 'K86' },
      { co_seq_dim_ciap: 23, nu_ciap: 'W78' },
    ]);
    await mw.insert('tb_fat_cidadao_pec', [
      ...TEAMS.map((t) => ({ co_seq_fat_cidadao_pec: t, nu_cpf_cidadao: `k${t}`, co_dim_tempo_nascimento: 20260301, co_dim_equipe_vinc: t, st_faleceu: 0 })),
      ...TEAMS.map((t) => ({ co_seq_fat_cidadao_pec: t + 10, nu_cpf_cidadao: `h${t + 10}`, co_dim_tempo_nascimento: 19600101, co_dim_equipe_vinc: t, st_faleceu: 0 })),
      { co_seq_fat_cidadao_pec: 33, nu_cpf_cidadao: 'k33', co_dim_tempo_nascimento: 20250101, co_dim_equipe_vinc: 3, st_faleceu: 0 },
      ...[2, 3].map((t) => ({ co_seq_fat_cidadao_pec: t + 20, nu_cpf_cidadao: `w${t + 20}`, co_dim_tempo_nascimento: 19960101, co_dim_equipe_vinc: t, st_faleceu: 0 })),
    ]);
    const consultations: Row[] = [];
    const problems: Row[] = [];
    const consult = (citizen: number, day: number, cbo: number, ciap: number, lmp = 30001231, measured = false) => {
      const c = consultations.length + 1;
      consultations.push({
        co_seq_fat_atd_ind: c,
        co_fat_cidadao_pec: citizen,
        co_dim_tempo: day,
        co_dim_cbo_1: cbo,
        co_dim_tempo_dum: lmp,
        nu_peso: measured ? 8 : null,
        nu_altura: measured ? 0.7 : null,
      });
      problems.push({ co_seq_fat_atd_ind_problemas: c, co_fat_atd_ind: c, co_fat_cidadao_pec: citizen, co_dim_cid: 1, co_dim_ciap: ciap, co_dim_tempo: day });
    };
    for (const t of TEAMS) {
      consult(t, 20260331, 41, 20);
      consult(t + 10, 20260510, 40, 22);
    }
    consult(12, 20260915, 40, 22); // so that 2026Q3 exists (open: its nominal list is written)
    for (const w of [22, 23]) consult(w, 20260410, 41, 23, 20260301);
    for (const day of [20250121, 20250301, 20250401, 20250501, 20250601, 20250701, 20250801, 20250901, 20251001]) consult(33, day, 41, 20, 30001231, true);
    await mw.insert('tb_fat_atendimento_individual', consultations);
    await mw.insert('tb_dim_imunobiologico', [
      { co_seq_dim_imunobiologico: 70, nu_identificador: '43' },
      { co_seq_dim_imunobiologico: 71, nu_identificador: '26' },
      { co_seq_dim_imunobiologico: 72, nu_identificador: '24' },
    ]);
    const doses: [number, number][] = [
      [70, 20250301],
      [70, 20250501],
      [70, 20250701],
      [71, 20250301],
      [71, 20250501],
      [72, 20260115],
      [72, 20260215],
    ];
    await mw.insert(
      'tb_fat_vacinacao_vacina',
      doses.map(([vaccine, day], k) => ({
        co_seq_fat_vacinacao_vacina: 500 + k,
        co_fat_cidadao_pec: 33,
        co_dim_imunobiologico: vaccine,
        co_dim_tempo_vacina_aplicada: day,
        co_dim_tempo: day,
      })),
    );
    await mw.insert('tb_fat_atd_ind_problemas', problems);
    for (const m of MARTS) await refreshMartDuckDb(w, m);
  });
  afterAll(() => {
    mw?.dispose();
  });

  it('dim_team: the Ministry code by INE (never the acronym), esf_eap 1/0, and unknown when no row or two types', async () => {
    const rows = await w.query(`SELECT team_ine AS ine, team_type AS type, esf_eap::INTEGER AS esf_eap FROM marts.dim_team ORDER BY 1`);
    expect(rows).toEqual([
      { ine: '-', type: null, esf_eap: null },
      { ine: INE(2), type: '70', esf_eap: 1 },
      { ine: INE(3), type: '76', esf_eap: 1 },
      { ine: INE(4), type: '49', esf_eap: 0 },
      { ine: INE(5), type: null, esf_eap: null },
      { ine: INE(6), type: null, esf_eap: null },
    ]);
  });

  it('the 2024-model indicators leave out people of a known type other than eSF/eAP; an unknown type counts (C5)', async () => {
    const people = async (indicator: string) =>
      (await w.query(`SELECT person_key AS p FROM marts.indicator_person_period WHERE indicator_id = $1 AND quadrimestre = '2026Q2' ORDER BY 1`, [indicator])).map((r) => r.p);
    // Previne Brasil counts every team (its pages set no type rule); C5 leaves h14 (type 49, acronym "EAP") out.
    expect(await people('previne_hypertension')).toEqual(['cpf:h12', 'cpf:h13', 'cpf:h14', 'cpf:h15', 'cpf:h16']);
    expect(await people('c5_hypertension')).toEqual(['cpf:h12', 'cpf:h13', 'cpf:h15', 'cpf:h16']);
    const teams = await w.query(
      `SELECT team_ine AS ine, denominator::INTEGER AS d FROM marts.indicator_team_period WHERE indicator_id = 'c5_hypertension' AND quadrimestre = '2026Q2' ORDER BY 1`,
    );
    expect(teams).toEqual([
      { ine: INE(2), d: 1 },
      { ine: INE(3), d: 1 },
      { ine: INE(5), d: 1 },
      { ine: INE(6), d: 1 },
    ]);
    const [municipal] = await w.query(
      `SELECT denominator::INTEGER AS d FROM marts.indicator_municipality_period WHERE indicator_id = 'c5_hypertension' AND quadrimestre = '2026Q2'`,
    );
    expect(municipal).toEqual({ d: 4 });
  });

  it('C2: D given in full to the eAP team only (score 20 + 20), not to type 49 (left out) nor to an unknown type', async () => {
    const rows = await w.query(
      `SELECT person_key AS p, gp_1::INTEGER AS a, gp_4::INTEGER AS d, in_numerator::INTEGER AS n, score
       FROM marts.indicator_person_period WHERE indicator_id = 'c2_child_development' AND quadrimestre = '2026Q2' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { p: 'cpf:k2', a: 1, d: 0, n: 0, score: 20 },
      { p: 'cpf:k3', a: 1, d: 1, n: 0, score: 40 },
      // Every practice met once D is given: in the numerator (the numerator is recomputed, not the events' one).
      { p: 'cpf:k33', a: 1, d: 1, n: 1, score: 100 },
      { p: 'cpf:k5', a: 1, d: 0, n: 0, score: 20 },
      { p: 'cpf:k6', a: 1, d: 0, n: 0, score: 20 },
    ]);
    const [eap] = await w.query(
      `SELECT gp_4_met::INTEGER AS d, score_mean AS score FROM marts.indicator_team_period
       WHERE indicator_id = 'c2_child_development' AND quadrimestre = '2026Q2' AND team_ine = $1`,
      [INE(3)],
    );
    expect(eap).toEqual({ d: 2, score: (40 + 100) / 2 });
    // In the open 2026Q3, the nominal list asks the eAP team for B, C and E, not for D; the eSF team for D too.
    const missing = await w.query(
      `SELECT person_key AS p, missing_practices AS m FROM marts.nominal_list
       WHERE indicator_id = 'c2_child_development' AND quadrimestre = '2026Q3' AND person_key IN ('cpf:k2', 'cpf:k3') ORDER BY 1`,
    );
    expect(missing).toEqual([
      { p: 'cpf:k2', m: '2,3,4,5' },
      { p: 'cpf:k3', m: '2,3,5' },
    ]);
  });

  it('C3: E and J given in full to the eAP team (score 10 + 9 + 9), not to the eSF team', async () => {
    const rows = await w.query(
      `SELECT person_key AS p, gp_1::INTEGER AS a, gp_5::INTEGER AS e, gp_10::INTEGER AS j, in_numerator::INTEGER AS n, score
       FROM marts.indicator_person_period WHERE indicator_id = 'c3_pregnancy_puerperium' AND quadrimestre = '2026Q2' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { p: 'cpf:w22', a: 1, e: 0, j: 0, n: 0, score: 10 },
      { p: 'cpf:w23', a: 1, e: 1, j: 1, n: 0, score: 28 },
    ]);
  });
});
