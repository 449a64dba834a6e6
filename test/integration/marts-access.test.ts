import type { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { openMartWarehouse, type MartWarehouse, type Row } from '../support/mart-warehouse';
import { MARTS, getMart, refreshMartDuckDb } from '../../shared/marts/marts';

/**
 * C1 "Mais Acesso" (docs/indicators/c1-mais-acesso.md) on a hand-made warehouse. A = 3509502; teams 2 = T1, 3 = T2, 4 = T3.
 * Kinds of demand (tb_dim_tipo_atendimento.nu_identificador): 11 = '1', 12 = '2' scheduled; 14 = '4', 15 = '5', 16 = '6'
 * spontaneous; 19 = '9' neither. CBO 40 = 225142, 41 = 223565, 43 = 225250 (the note's); 42 = 322205 and 44 = 225124 (not).
 * People: P1 with a CPF, P2 with a CNS only, P3 with neither.
 *   T1 2026Q2: doctor/kind 1 on 05-01 (first day), nurse/kind 2 on 08-31 (last day) → 2 scheduled; gynaecologist/kind 5 → 1
 *      spontaneous; a technician's kind 1, P3's kind 1 and a kind 9 do not count → 2 of 3 = 0.6667, optimal.
 *      A kind 4 on 09-01 is 2026Q3; an excluded occupation's consultation on 04-30 is 2026Q1 (no row).
 *   T2 2026Q2: kinds 6 and 4 → 0 of 2, regular.   T3 2026Q2: kinds 1 and 5 → 0.5 exactly, good (optimal is above 0.5).
 * Team types (tb_equipe → tb_tipo_equipe.nu_ms): T1 '70' eSF, T3 '76' eAP, T2 none (unknown: counted), T4 = team 5 '22'
 * (EMAD): its kind-1 consultation of 2026Q2 is left out, so T4 has no row.
 */
const A = '3509502';
describe('C1: scheduled consultations among the scheduled and spontaneous ones, per team and quadrimestre', () => {
  let mw: MartWarehouse;
  let w: DuckDbWarehouse;
  beforeAll(async () => {
    mw = await openMartWarehouse('pec-c1-', A);
    w = mw.w;
    await mw.insert('tb_dim_equipe', [
      { co_seq_dim_equipe: 2, nu_ine: '0000000011', no_equipe: 'ESF 1' },
      { co_seq_dim_equipe: 3, nu_ine: '0000000022', no_equipe: 'ESF 2' },
      { co_seq_dim_equipe: 4, nu_ine: '0000000033', no_equipe: 'EAP 3' },
      { co_seq_dim_equipe: 5, nu_ine: '0000000044', no_equipe: 'EMAD 4' },
    ]);
    await mw.insert('tb_tipo_equipe', [
      { co_seq_tipo_equipe: 56, nu_ms: '70' },
      { co_seq_tipo_equipe: 58, nu_ms: '76' },
      { co_seq_tipo_equipe: 22, nu_ms: '22' },
    ]);
    await mw.insert('tb_equipe', [
      { co_seq_equipe: 1, nu_ine: '0000000011', tp_equipe: 56 },
      { co_seq_equipe: 2, nu_ine: '0000000033', tp_equipe: 58 },
      { co_seq_equipe: 3, nu_ine: '0000000044', tp_equipe: 22 },
    ]);
    await mw.insert('tb_dim_cbo', [
      { co_seq_dim_cbo: 40, nu_cbo: '225142' },
      { co_seq_dim_cbo: 41, nu_cbo: '223565' },
      { co_seq_dim_cbo: 42, nu_cbo: '322205' },
      { co_seq_dim_cbo: 43, nu_cbo: '225250' },
      { co_seq_dim_cbo: 44, nu_cbo: '225124' },
    ]);
    await mw.insert(
      'tb_dim_tipo_atendimento',
      [
        [11, '1'],
        [12, '2'],
        [14, '4'],
        [15, '5'],
        [16, '6'],
        [19, '9'],
      ].map(([id, code]) => ({ co_seq_dim_tipo_atendimento: id, nu_identificador: code })),
    );
    await mw.insert('tb_fat_cidadao_pec', [
      { co_seq_fat_cidadao_pec: 1, nu_cpf_cidadao: 'p1', co_dim_equipe_vinc: 2 },
      { co_seq_fat_cidadao_pec: 2, nu_cns: 'n2', co_dim_equipe_vinc: 3 },
      { co_seq_fat_cidadao_pec: 3, co_dim_equipe_vinc: 2 },
    ]);
    let id = 0;
    const consultation = (citizen: number, day: number, cbo: number, kind: number, team: number): Row => ({
      co_seq_fat_atd_ind: ++id,
      co_fat_cidadao_pec: citizen,
      co_dim_tempo: day,
      co_dim_cbo_1: cbo,
      co_dim_tipo_atendimento: kind,
      co_dim_equipe_1: team,
    });
    await mw.insert('tb_fat_atendimento_individual', [
      consultation(1, 20260501, 40, 11, 2),
      consultation(1, 20260831, 41, 12, 2),
      consultation(2, 20260601, 43, 15, 2),
      consultation(2, 20260601, 42, 11, 2),
      consultation(3, 20260601, 40, 11, 2),
      consultation(1, 20260601, 40, 19, 2),
      consultation(1, 20260901, 40, 14, 2),
      consultation(1, 20260430, 44, 11, 2),
      consultation(2, 20260701, 41, 16, 3),
      consultation(2, 20260702, 41, 14, 3),
      consultation(1, 20260710, 40, 11, 4),
      consultation(1, 20260711, 40, 15, 4),
      consultation(1, 20260601, 40, 11, 5),
    ]);
    for (const m of MARTS) await refreshMartDuckDb(w, m);
  });
  afterAll(() => {
    mw?.dispose();
  });

  const rows = () =>
    w.query(
      `SELECT team_ine AS team, quadrimestre AS q, scheduled::INTEGER AS s, spontaneous::INTEGER AS sp, total::INTEGER AS t, proportion AS p, band,
         period_closed::INTEGER AS closed, history_complete::INTEGER AS hist
       FROM marts.access_team_period ORDER BY 2, 1`,
    );

  it('counts the note’s occupations and kinds of demand, identified people only, eSF/eAP (or unknown-type) teams only, in the quadrimestre of the consultation day', async () => {
    expect(await rows()).toEqual([
      { team: '0000000011', q: '2026Q2', s: 2, sp: 1, t: 3, p: 0.6667, band: 'optimal', closed: 1, hist: 1 },
      { team: '0000000022', q: '2026Q2', s: 0, sp: 2, t: 2, p: 0, band: 'regular', closed: 1, hist: 1 },
      { team: '0000000033', q: '2026Q2', s: 1, sp: 1, t: 2, p: 0.5, band: 'good', closed: 1, hist: 1 },
      { team: '0000000011', q: '2026Q3', s: 0, sp: 1, t: 1, p: 0, band: 'regular', closed: 0, hist: 1 },
    ]);
  });

  it('a closed period is frozen: a late consultation changes the open period only', async () => {
    await mw.insert('tb_fat_atendimento_individual', [
      { co_seq_fat_atd_ind: 900, co_fat_cidadao_pec: 1, co_dim_tempo: 20260715, co_dim_cbo_1: 40, co_dim_tipo_atendimento: 11, co_dim_equipe_1: 3 },
      { co_seq_fat_atd_ind: 901, co_fat_cidadao_pec: 1, co_dim_tempo: 20261015, co_dim_cbo_1: 40, co_dim_tipo_atendimento: 11, co_dim_equipe_1: 2 },
    ]);
    await refreshMartDuckDb(w, getMart('access_team_period'));
    const after = await rows();
    expect(after.find((r) => r.team === '0000000022' && r.q === '2026Q2')).toMatchObject({ s: 0, t: 2 });
    expect(after.find((r) => r.team === '0000000011' && r.q === '2026Q3')).toMatchObject({ s: 1, sp: 1, t: 2, p: 0.5 });
  });
});
