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

/**
 * The type in force on each period's last day (docs/indicators/common.md, "Team type"), on a second hand-made
 * warehouse. Quadrimestres end 2026-04-30 (Q1), 08-31 (Q2), 12-31 (Q3). Types: 56 → '70' eSF, 58 → '76' eAP,
 * 55 → '72' eMulti, 57 → '71', 49 → '49'. Teams (tb_dim_equipe id = t, INE …(t + 9)), their current row in tb_equipe
 * and their audit rows (ta_equipe), hence the type per quadrimestre Q1 / Q2 / Q3 of 2026:
 *   t7  now 55 ('72'); I 2025-12-01 56, U 2026-06-15 55 (a change inside Q2: the last day's type wins) → 70 / 72 / 72
 *   t8  now 56 ('70'); I 2026-01-10 58, U 2026-09-01 00:10 56 (after Q2's end: not in Q2)                  → 76 / 76 / 70
 *   t9  now 49;        I 2026-01-10 56, U 2026-04-30 23:59 49 (on Q1's last day: applies to Q1)             → 49 / 49 / 49
 *   t10 now 58 ('76'); no audit row (current type in every period)                                         → 76 / 76 / 76
 *   t11 now 56 ('70'); I 2026-06-01 58, U 2026-10-01 56 (Q1 precedes the first audit row: current type)     → 70 / 76 / 70
 *   t12 now 56 ('70'), one INE, two team rows: A (212) I 2026-01-10 56; B (312) I 2026-06-01 57, D 2026-10-01 (deleted)
 *       → Q1 A alone 70; Q2 A 70 and B 71 at once: unknown; Q3 B deleted: 70
 *   t7 also has an update of other columns on 2026-07-01 (same type 55) and two rows at one instant (the higher id wins).
 * People: adult h<t+40> of team t with a hypertension consultation (K86, doctor, scheduled kind) on 2026-03-15, 06-20
 * and 10-20 → C5, Previne 6 and C1 rows in each quadrimestre; child k38 (team 8) born 2026-03-01 with one nurse
 * ABP004 consultation on 03-31 → C2 in Q1 and Q2 (team eAP: D in full) and Q3 (team eSF: D not).
 */
describe('team type per period: the audited state (ta_equipe) on the quadrimestre’s last day', () => {
  const B = '3550308';
  const NEW_TEAMS = [7, 8, 9, 10, 11, 12];
  let mw: MartWarehouse;
  let w: DuckDbWarehouse;
  beforeAll(async () => {
    mw = await openMartWarehouse('pec-team-history-', B);
    w = mw.w;
    await mw.insert(
      'tb_dim_equipe',
      NEW_TEAMS.map((t) => ({ co_seq_dim_equipe: t, nu_ine: INE(t), no_equipe: `Equipe ${t}` })),
    );
    await mw.insert(
      'tb_tipo_equipe',
      [
        [56, '70'],
        [58, '76'],
        [55, '72'],
        [57, '71'],
        [49, '49'],
      ].map(([id, ms]) => ({ co_seq_tipo_equipe: id, nu_ms: ms })),
    );
    const now: [number, number][] = [
      [7, 55],
      [8, 56],
      [9, 49],
      [10, 58],
      [11, 56],
      [12, 56],
    ];
    await mw.insert(
      'tb_equipe',
      now.map(([team, type]) => ({ co_seq_equipe: 200 + team, nu_ine: INE(team), tp_equipe: type })),
    );
    const audit: [string, string, number, number, number][] = [
      ['2025-12-01 09:00:00', 'I', 207, 7, 56],
      ['2026-06-15 10:00:00', 'U', 207, 7, 55],
      ['2026-07-01 08:00:00', 'U', 207, 7, 56],
      ['2026-07-01 08:00:00', 'U', 207, 7, 55],
      ['2026-01-10 09:00:00', 'I', 208, 8, 58],
      ['2026-09-01 00:10:00', 'U', 208, 8, 56],
      ['2026-01-10 09:00:00', 'I', 209, 9, 56],
      ['2026-04-30 23:59:00', 'U', 209, 9, 49],
      ['2026-06-01 09:00:00', 'I', 211, 11, 58],
      ['2026-10-01 09:00:00', 'U', 211, 11, 56],
      ['2026-01-10 09:00:00', 'I', 212, 12, 56],
      ['2026-06-01 09:00:00', 'I', 312, 12, 57],
      ['2026-10-01 09:00:00', 'D', 312, 12, 57],
    ];
    await mw.insert(
      'ta_equipe',
      audit.map(([at, kind, row, team, type], k) => ({
        co_seq_taequipe: k + 1,
        dt_auditoria: at,
        co_tipo_auditoria: kind,
        co_seq_equipe: row,
        nu_ine: INE(team),
        tp_equipe: type,
      })),
    );
    await mw.insert('tb_dim_cbo', [
      { co_seq_dim_cbo: 40, nu_cbo: '225142' },
      { co_seq_dim_cbo: 41, nu_cbo: '223565' },
    ]);
    await mw.insert('tb_dim_tipo_atendimento', [{ co_seq_dim_tipo_atendimento: 11, nu_identificador: '1' }]);
    await mw.insert('tb_dim_cid', [{ co_seq_dim_cid: 1, nu_cid: '-' }]);
    await mw.insert('tb_dim_ciap', [
      { co_seq_dim_ciap: 1, nu_ciap: '-' },
      { co_seq_dim_ciap: 20, nu_ciap: 'ABP004' },
      { co_seq_dim_ciap: 22, nu_ciap: 'K86' },
    ]);
    await mw.insert('tb_fat_cidadao_pec', [
      ...NEW_TEAMS.map((t) => ({ co_seq_fat_cidadao_pec: t + 40, nu_cpf_cidadao: `h${t + 40}`, co_dim_tempo_nascimento: 19600101, co_dim_equipe_vinc: t, st_faleceu: 0 })),
      { co_seq_fat_cidadao_pec: 38, nu_cpf_cidadao: 'k38', co_dim_tempo_nascimento: 20260301, co_dim_equipe_vinc: 8, st_faleceu: 0 },
    ]);
    const consultations: Row[] = [];
    const problems: Row[] = [];
    const consult = (citizen: number, team: number, day: number, cbo: number, ciap: number) => {
      const c = consultations.length + 1;
      consultations.push({ co_seq_fat_atd_ind: c, co_fat_cidadao_pec: citizen, co_dim_tempo: day, co_dim_cbo_1: cbo, co_dim_equipe_1: team, co_dim_tipo_atendimento: 11 });
      problems.push({ co_seq_fat_atd_ind_problemas: c, co_fat_atd_ind: c, co_fat_cidadao_pec: citizen, co_dim_cid: 1, co_dim_ciap: ciap, co_dim_tempo: day });
    };
    for (const t of NEW_TEAMS) for (const day of [20260315, 20260620, 20261020]) consult(t + 40, t, day, 40, 22);
    consult(38, 8, 20260331, 41, 20);
    await mw.insert('tb_fat_atendimento_individual', consultations);
    await mw.insert('tb_fat_atd_ind_problemas', problems);
    for (const m of MARTS) await refreshMartDuckDb(w, m);
  });
  afterAll(() => {
    mw?.dispose();
  });

  /** INE → type per 2026 quadrimestre of an indicator's team rows (absent: the team has no row). */
  const typesByPeriod = async (table: string, indicator?: string) => {
    const rows = await w.query(
      `SELECT team_ine AS ine, quadrimestre AS q, team_type AS type FROM marts.${table}
       WHERE quadrimestre LIKE '2026%' ${indicator ? `AND indicator_id = '${indicator}'` : ''} ORDER BY 1, 2`,
    );
    return rows.map((r) => `${String(r.ine).slice(-2)} ${String(r.q)} ${String(r.type)}`);
  };

  it('dim_team keeps the current type', async () => {
    const rows = await w.query(`SELECT team_ine AS ine, team_type AS type FROM marts.dim_team WHERE team_ine <> '-' ORDER BY 1`);
    expect(rows.map((r) => `${String(r.ine).slice(-2)} ${String(r.type)}`)).toEqual(['16 72', '17 70', '18 49', '19 76', '20 70', '21 70']);
  });

  it('Previne 6 (no type rule): every team in every quadrimestre, with the type in force on its last day', async () => {
    expect(await typesByPeriod('indicator_team_period', 'previne_hypertension')).toEqual([
      ...['16 2026Q1 70', '16 2026Q2 72', '16 2026Q3 72'],
      ...['17 2026Q1 76', '17 2026Q2 76', '17 2026Q3 70'],
      ...['18 2026Q1 49', '18 2026Q2 49', '18 2026Q3 49'],
      ...['19 2026Q1 76', '19 2026Q2 76', '19 2026Q3 76'],
      ...['20 2026Q1 70', '20 2026Q2 76', '20 2026Q3 70'],
      ...['21 2026Q1 70', '21 2026Q2 null', '21 2026Q3 70'],
    ]);
    // The fact carries the same type per person and period.
    const fact = await w.query(
      `SELECT quadrimestre AS q, team_type AS type FROM marts.indicator_person_period WHERE indicator_id = 'previne_hypertension' AND person_key = 'cpf:h47' ORDER BY 1`,
    );
    expect(fact.filter((r) => String(r.q).startsWith('2026'))).toEqual([
      { q: '2026Q1', type: '70' },
      { q: '2026Q2', type: '72' },
      { q: '2026Q3', type: '72' },
    ]);
  });

  it('C5 and C1 leave a team out of exactly the quadrimestres whose last day finds it of another known type', async () => {
    const counted = [
      ...['16 2026Q1 70'],
      ...['17 2026Q1 76', '17 2026Q2 76', '17 2026Q3 70'],
      ...['19 2026Q1 76', '19 2026Q2 76', '19 2026Q3 76'],
      ...['20 2026Q1 70', '20 2026Q2 76', '20 2026Q3 70'],
      ...['21 2026Q1 70', '21 2026Q2 null', '21 2026Q3 70'],
    ];
    expect(await typesByPeriod('indicator_team_period', 'c5_hypertension')).toEqual(counted);
    expect(await typesByPeriod('access_team_period')).toEqual(counted);
  });

  it('C2: D is given in full while the team is eAP on the last day (2026Q1, Q2), not once it is eSF (2026Q3)', async () => {
    const rows = await w.query(
      `SELECT quadrimestre AS q, gp_1::INTEGER AS a, gp_4::INTEGER AS d, team_type AS type FROM marts.indicator_person_period
       WHERE indicator_id = 'c2_child_development' AND person_key = 'cpf:k38' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { q: '2026Q1', a: 1, d: 1, type: '76' },
      { q: '2026Q2', a: 1, d: 1, type: '76' },
      { q: '2026Q3', a: 1, d: 0, type: '70' },
    ]);
  });
});
