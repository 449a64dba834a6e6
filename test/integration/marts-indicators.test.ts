import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBValue } from '@duckdb/node-api';
import { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { INDICATORS } from '../../shared/marts/indicators';
import { MARTS, getMart, refreshMartDuckDb } from '../../shared/marts/marts';
import { PEC_TABLES } from '../../shared/tables/pec-tables';

/**
 * The star schema (fact, aggregates, dimensions, nominal list) on a hand-made warehouse, values
 * computed by hand below. Rules: docs/indicators/. One municipality A = 3509502; team 2 = T1
 * (INE 0000000011), sentinel 1 = '-'. CBO 40 = 225142 doctor, 42 = 322205 nursing technician,
 * 43 = 515105 community health agent. CIAP 20 = K86. Procedures 32 = 0201020033, 33 = ABPG010
 * (cervical cytology collection). Sex 2 = Masculino, 3 = Feminino. Data as of 2026-11-22.
 *
 * Periods (quadrimestres with consultations): 2023Q3 (09-01), 2026Q1 (02-15), 2026Q3 (09-10, 09-15).
 * History starts 2023-09 (first consultation).
 *   2023Q3: closed; windows 6 m from 2023-07, 12 m from 2023-01, 36 m from 2021-01: history incomplete for all.
 *   2026Q1: closed; 6 m from 2025-11, 12 m from 2025-05 (complete: frozen), 36 m from 2023-05 (incomplete).
 *   2026Q3: open; 6 m from 2026-07, 12 m from 2026-01, 36 m from 2024-01: complete.
 *
 * Hypertension:
 *   H1 (man, T1): K86 in a doctor's consultation 2026-09-10 recording pressure, weight and height;
 *       agent visits 2026-01-01 and 2026-01-31 (30 days apart).
 *   H2 (man, T1): K86 in a doctor's consultation 2023-09-01; a nursing technician's consultations 2026-02-15
 *       (weight and height) and 2026-09-15 (weight only); agent visits 2026-03-01 and 03-30 (29 days apart).
 *   previne_hypertension: 2023Q3 {H2} 1/0 (consultation yes, pressure no); 2026Q1 {H2} 1/0; 2026Q3 {H1,H2} 2/1.
 *   c5_hypertension (gp: 1 doctor/nurse consultation 6 m, 2 pressure 6 m, 3 weight+height 12 m, 4 two visits ≥ 30 days 12 m; 25 each):
 *       2023Q3 H2 {1} 25.  2026Q1 H2 {3} 25.  2026Q3 H1 {1,2,3,4} 100, H2 {3} 25: 2/1, mean 62.5, met 1,1,2,1.
 * Cytology (women 25–64 on the quadrimestre's last day; collection in 36 months):
 *   W1 born 1961-12-31 (65 on 2026-12-31), W2 1962-01-01 (collection 2024-01-01), W3 2002-01-01 (24 on 2026-12-31),
 *   W4 2001-12-31 (25 on 2026-12-31; collection 2023-12-31), M5 a man, W6 deceased, W7 1990-01-01 (collection
 *   2026-12-15, code ABPG010), W8 1990-01-01 bound to no team. All T1 except W8.
 *   2023Q3: T1 {W1,W2,W7} 3/0 (W2's collection is on the day after the quadrimestre); '-' {W8} 1/0.
 *   2026Q1: T1 {W1 64, W2 64, W7} 3/1 (W2); '-' 1/0.
 *   2026Q3: T1 {W2, W4, W7} 3/2 (W2 on the window's first day, W7; W4's collection is the day before the window); '-' 1/0.
 */
const A = '3509502';
type Row = Record<string, DuckDBValue>;

async function insert(w: DuckDbWarehouse, table: string, rows: Row[]): Promise<void> {
  for (const r of rows) {
    const cols = [...Object.keys(r), '_municipality_ibge', '_run_id', '_extracted_at'];
    const values = [...Object.values(r), A, 'fixture', '2026-11-22 06:00:00'];
    await w.execute(`INSERT INTO raw.${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, values);
  }
}

async function seed(w: DuckDbWarehouse): Promise<void> {
  await insert(w, 'tb_dim_municipio', [{ co_seq_dim_municipio: 2, no_municipio: 'Campinas', co_ibge: A }]);
  await insert(w, 'tb_dim_equipe', [
    { co_seq_dim_equipe: 1, nu_ine: '-', no_equipe: 'Não informado' },
    { co_seq_dim_equipe: 2, nu_ine: '0000000011', no_equipe: 'ESF 1' },
  ]);
  await insert(w, 'tb_dim_cbo', [
    { co_seq_dim_cbo: 40, nu_cbo: '225142' },
    { co_seq_dim_cbo: 42, nu_cbo: '322205' },
    { co_seq_dim_cbo: 43, nu_cbo: '515105' },
  ]);
  await insert(w, 'tb_dim_cid', [{ co_seq_dim_cid: 1, nu_cid: '-' }]);
  await insert(w, 'tb_dim_ciap', [
    { co_seq_dim_ciap: 1, nu_ciap: '-' },
    { co_seq_dim_ciap: 20, nu_ciap: 'K86' },
  ]);
  await insert(w, 'tb_dim_procedimento', [
    { co_seq_dim_procedimento: 32, co_proced: '0201020033' },
    { co_seq_dim_procedimento: 33, co_proced: 'ABPG010' },
  ]);
  await insert(w, 'tb_dim_sexo', [
    { co_seq_dim_sexo: 1, sg_sexo: '-', ds_sexo: 'Não informado' },
    { co_seq_dim_sexo: 2, sg_sexo: 'M', ds_sexo: 'Masculino' },
    { co_seq_dim_sexo: 3, sg_sexo: 'F', ds_sexo: 'Feminino' },
  ]);
  const person = (id: number, cpf: string, sex: number, birth: number, team = 2, deceased = 0): Row => ({
    co_seq_fat_cidadao_pec: id,
    nu_cpf_cidadao: cpf,
    co_dim_sexo: sex,
    co_dim_tempo_nascimento: birth,
    co_dim_equipe_vinc: team,
    st_faleceu: deceased,
  });
  await insert(w, 'tb_fat_cidadao_pec', [
    person(1, 'h1', 2, 19600101),
    person(2, 'h2', 2, 19550101),
    person(11, 'w1', 3, 19611231),
    person(12, 'w2', 3, 19620101),
    person(13, 'w3', 3, 20020101),
    person(14, 'w4', 3, 20011231),
    person(15, 'm5', 2, 19800101),
    person(16, 'w6', 3, 19800101, 2, 1),
    person(17, 'w7', 3, 19900101),
    person(18, 'w8', 3, 19900101, 1),
  ]);
  const consultation = (id: number, citizen: number, day: number, cbo: number, o: Row = {}): Row => ({
    co_seq_fat_atd_ind: id,
    co_fat_cidadao_pec: citizen,
    co_dim_tempo: day,
    co_dim_cbo_1: cbo,
    nu_pressao_sistolica: null,
    nu_peso: null,
    nu_altura: null,
    ...o,
  });
  await insert(w, 'tb_fat_atendimento_individual', [
    consultation(901, 2, 20230901, 40),
    consultation(902, 1, 20260910, 40, { nu_pressao_sistolica: 130, nu_peso: 80, nu_altura: 1.75 }),
    consultation(903, 2, 20260215, 42, { nu_peso: 70, nu_altura: 1.6 }),
    consultation(904, 2, 20260915, 42, { nu_peso: 71 }),
  ]);
  await insert(w, 'tb_fat_atd_ind_problemas', [
    { co_seq_fat_atd_ind_problemas: 1, co_fat_atd_ind: 901, co_fat_cidadao_pec: 2, co_dim_cid: 1, co_dim_ciap: 20, co_dim_tempo: 20230901 },
    { co_seq_fat_atd_ind_problemas: 2, co_fat_atd_ind: 902, co_fat_cidadao_pec: 1, co_dim_cid: 1, co_dim_ciap: 20, co_dim_tempo: 20260910 },
  ]);
  const visit = (id: number, citizen: number, day: number): Row => ({ co_seq_fat_visita_domiciliar: id, co_fat_cidadao_pec: citizen, co_dim_cbo: 43, co_dim_tempo: day });
  await insert(w, 'tb_fat_visita_domiciliar', [visit(1, 1, 20260101), visit(2, 1, 20260131), visit(3, 2, 20260301), visit(4, 2, 20260330)]);
  const collection = (id: number, citizen: number, proc: number, day: number): Row => ({
    co_seq_fat_proced_atend_proced: id,
    co_fat_cidadao_pec: citizen,
    co_dim_procedimento: proc,
    co_dim_tempo: day,
  });
  await insert(w, 'tb_fat_proced_atend_proced', [collection(1, 12, 32, 20240101), collection(2, 14, 32, 20231231), collection(3, 17, 33, 20261215)]);
}

const T1 = '0000000011';

describe('star schema marts on a hand-made warehouse', () => {
  let dir: string;
  let w: DuckDbWarehouse;
  const refreshAll = async () => {
    for (const m of MARTS) await refreshMartDuckDb(w, m);
  };
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-star-'));
    w = await DuckDbWarehouse.open(path.join(dir, 'w.duckdb'));
    await w.ensureRawTables(PEC_TABLES);
    await seed(w);
    await refreshAll();
  });
  afterAll(() => {
    w?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const teamRows = async (indicator: string) =>
    (
      await w.query(
        `SELECT quadrimestre, team_ine, denominator::INTEGER AS d, numerator::INTEGER AS n, rate, score_mean,
           gp_1_met::INTEGER AS m1, gp_2_met::INTEGER AS m2, gp_3_met::INTEGER AS m3, gp_4_met::INTEGER AS m4, below_target::INTEGER AS below, period_closed::INTEGER AS closed, history_complete::INTEGER AS history
         FROM marts.indicator_team_period WHERE indicator_id = $1 ORDER BY quadrimestre, team_ine`,
        [indicator],
      )
    ).map((r) => [r.quadrimestre, r.team_ine, r.d, r.n, r.rate, r.score_mean, [r.m1, r.m2, r.m3, r.m4], r.below, r.closed, r.history]);

  it('cytology (Previne 4): women 25–64 on the last day, collection in the 36 months — age, sex, death and window boundaries', async () => {
    expect(await teamRows('previne_cytology')).toEqual([
      ['2023Q3', '-', 1, 0, 0, null, [0, null, null, null], 1, 1, 0],
      ['2023Q3', T1, 3, 0, 0, null, [0, null, null, null], 1, 1, 0],
      ['2026Q1', '-', 1, 0, 0, null, [0, null, null, null], 1, 1, 0],
      ['2026Q1', T1, 3, 1, 0.3333, null, [1, null, null, null], 1, 1, 0],
      ['2026Q3', '-', 1, 0, 0, null, [0, null, null, null], 1, 0, 1],
      ['2026Q3', T1, 3, 2, 0.6667, null, [2, null, null, null], 0, 0, 1],
    ]);
    // The municipality's official figure leaves out people bound to no team.
    const m = await w.query(
      `SELECT quadrimestre, denominator::INTEGER AS d, numerator::INTEGER AS n FROM marts.indicator_municipality_period WHERE indicator_id = 'previne_cytology' ORDER BY 1`,
    );
    expect(m).toEqual([
      { quadrimestre: '2023Q3', d: 3, n: 0 },
      { quadrimestre: '2026Q1', d: 3, n: 1 },
      { quadrimestre: '2026Q3', d: 3, n: 2 },
    ]);
  });

  it('hypertension C5: good-practice flags and scores per person, the 30-day visit rule, weight and height on one record', async () => {
    expect(await teamRows('c5_hypertension')).toEqual([
      ['2023Q3', T1, 1, 0, 0, 25, [1, 0, 0, 0], null, 1, 0],
      ['2026Q1', T1, 1, 0, 0, 25, [0, 0, 1, 0], null, 1, 1],
      ['2026Q3', T1, 2, 1, 0.5, 62.5, [1, 1, 2, 1], null, 0, 1],
    ]);
    const facts = await w.query(
      `SELECT person_key, gp_1::INTEGER AS g1, gp_2::INTEGER AS g2, gp_3::INTEGER AS g3, gp_4::INTEGER AS g4, gp_5 IS NULL AS no_gp5, score FROM marts.indicator_person_period
       WHERE indicator_id = 'c5_hypertension' AND quadrimestre = '2026Q3' ORDER BY 1`,
    );
    expect(facts.map((r) => [r.person_key, [r.g1, r.g2, r.g3, r.g4], r.no_gp5, r.score])).toEqual([
      ['cpf:h1', [1, 1, 1, 1], true, 100],
      ['cpf:h2', [0, 0, 1, 0], true, 25],
    ]);
  });

  it('Previne 6 in the star agrees with marts.hypertension_follow_up, team by team', async () => {
    expect(await teamRows('previne_hypertension')).toEqual([
      ['2023Q3', T1, 1, 0, 0, null, [1, 0, null, null], 1, 1, 0],
      ['2026Q1', T1, 1, 0, 0, null, [0, 0, null, null], 1, 1, 1],
      ['2026Q3', T1, 2, 1, 0.5, null, [1, 1, null, null], 0, 0, 1],
    ]);
    const star = await w.query(`SELECT quadrimestre, team_ine, denominator, numerator FROM marts.indicator_team_period WHERE indicator_id = 'previne_hypertension' ORDER BY ALL`);
    const mart = await w.query(`SELECT quadrimestre, team_ine, denominator, numerator FROM marts.hypertension_follow_up ORDER BY ALL`);
    expect(mart).toEqual(star);
  });

  it('dimensions: one row per municipality and indicator, team, period; keys the facts relate on', async () => {
    const ind = await w.query(`SELECT indicator_key, gp_4_name, gp_4_score, target FROM marts.dim_indicator ORDER BY 1`);
    expect(ind.map((r) => r.indicator_key)).toEqual(INDICATORS.map((i) => `${A}:${i.id}`).sort());
    expect(ind.find((r) => r.indicator_key === `${A}:c5_hypertension`)).toMatchObject({ gp_4_score: 25, target: null });
    expect(ind.find((r) => r.indicator_key === `${A}:previne_cytology`)).toMatchObject({ gp_4_name: null, target: 0.4 });
    expect(await w.query(`SELECT team_key, team_name FROM marts.dim_team ORDER BY 1`)).toEqual([
      { team_key: `${A}:-`, team_name: 'Não informado' },
      { team_key: `${A}:${T1}`, team_name: 'ESF 1' },
    ]);
    expect(await w.query(`SELECT period_key, period_closed::INTEGER AS closed, strftime(history_start, '%Y-%m-%d') AS since FROM marts.dim_period ORDER BY 1`)).toEqual([
      { period_key: `${A}:2023Q3`, closed: 1, since: '2023-09-01' },
      { period_key: `${A}:2026Q1`, closed: 1, since: '2023-09-01' },
      { period_key: `${A}:2026Q3`, closed: 0, since: '2023-09-01' },
    ]);
    // Every fact row finds its dimension rows.
    const [orphans] = await w.query(
      `SELECT count(*)::INTEGER AS n FROM marts.indicator_person_period f
       WHERE f.team_key NOT IN (SELECT team_key FROM marts.dim_team) OR f.period_key NOT IN (SELECT period_key FROM marts.dim_period)
          OR f.indicator_key NOT IN (SELECT indicator_key FROM marts.dim_indicator)`,
    );
    expect(orphans!.n).toBe(0);
  });

  it('nominal list: per team, the people of the open period still missing a good practice, by pseudonym only', async () => {
    expect(await w.query(`SELECT team_ine, quadrimestre, indicator_id, person_key, missing_practices FROM marts.nominal_list ORDER BY indicator_id, person_key`)).toEqual([
      { team_ine: T1, quadrimestre: '2026Q3', indicator_id: 'c5_hypertension', person_key: 'cpf:h2', missing_practices: '1,2,4' },
      // C6 (aged 60 or more: H1, H2, W1, W2): H1 has no influenza dose; H2's doctor consultation is from 2023, its visits 29 days apart.
      { team_ine: T1, quadrimestre: '2026Q3', indicator_id: 'c6_older_people', person_key: 'cpf:h1', missing_practices: '4' },
      { team_ine: T1, quadrimestre: '2026Q3', indicator_id: 'c6_older_people', person_key: 'cpf:h2', missing_practices: '1,3,4' },
      { team_ine: T1, quadrimestre: '2026Q3', indicator_id: 'c6_older_people', person_key: 'cpf:w1', missing_practices: '1,2,3,4' },
      { team_ine: T1, quadrimestre: '2026Q3', indicator_id: 'c6_older_people', person_key: 'cpf:w2', missing_practices: '1,2,3,4' },
      // C7 (women 9–69 on 2026-12-31; A 25–64, C 14–69, D 50–69; nobody has a sexual-health consultation or a mammography):
      // W1 65 (C, D); W2 64 (A met: collection 2024-01-01, the 36-month window's first day); W3 24 (C only); W4 25 (A missed:
      // 2023-12-31); W7 (A met: ABPG010 in December); W8 bound to no team (A, C).
      { team_ine: T1, quadrimestre: '2026Q3', indicator_id: 'c7_womens_cancer_prevention', person_key: 'cpf:w1', missing_practices: '3,4' },
      { team_ine: T1, quadrimestre: '2026Q3', indicator_id: 'c7_womens_cancer_prevention', person_key: 'cpf:w2', missing_practices: '3,4' },
      { team_ine: T1, quadrimestre: '2026Q3', indicator_id: 'c7_womens_cancer_prevention', person_key: 'cpf:w3', missing_practices: '3' },
      { team_ine: T1, quadrimestre: '2026Q3', indicator_id: 'c7_womens_cancer_prevention', person_key: 'cpf:w4', missing_practices: '1,3' },
      { team_ine: T1, quadrimestre: '2026Q3', indicator_id: 'c7_womens_cancer_prevention', person_key: 'cpf:w7', missing_practices: '3' },
      { team_ine: '-', quadrimestre: '2026Q3', indicator_id: 'c7_womens_cancer_prevention', person_key: 'cpf:w8', missing_practices: '1,3' },
      { team_ine: T1, quadrimestre: '2026Q3', indicator_id: 'previne_cytology', person_key: 'cpf:w4', missing_practices: '1' },
      { team_ine: '-', quadrimestre: '2026Q3', indicator_id: 'previne_cytology', person_key: 'cpf:w8', missing_practices: '1' },
      { team_ine: T1, quadrimestre: '2026Q3', indicator_id: 'previne_hypertension', person_key: 'cpf:h2', missing_practices: '1,2' },
    ]);
  });

  it('closed periods with complete history are frozen in the fact and the aggregates; the rest is recomputed', async () => {
    await w.execute(`UPDATE raw.tb_fat_cidadao_pec SET st_faleceu = 1 WHERE co_seq_fat_cidadao_pec = 2`);
    await w.execute(`DELETE FROM raw.tb_fat_proced_atend_proced WHERE co_seq_fat_proced_atend_proced = 1`);
    await refreshAll();
    // H2 died: gone from 2023Q3 (history incomplete) and 2026Q3 (open), kept in the frozen 2026Q1.
    expect(await teamRows('c5_hypertension')).toEqual([
      ['2026Q1', T1, 1, 0, 0, 25, [0, 0, 1, 0], null, 1, 1],
      ['2026Q3', T1, 1, 1, 1, 100, [1, 1, 1, 1], null, 0, 1],
    ]);
    const [frozen] = await w.query(`SELECT count(*)::INTEGER AS n FROM marts.indicator_person_period WHERE person_key = 'cpf:h2' AND quadrimestre = '2026Q1'`);
    expect(frozen!.n).toBe(3); // previne_hypertension, c5_hypertension and c6_older_people
    // W2's collection deleted: 2026Q1 cytology is closed but its 36-month history is incomplete, so it is recomputed too.
    expect((await teamRows('previne_cytology')).filter((r) => r[1] === T1).map((r) => [r[0], r[2], r[3]])).toEqual([
      ['2023Q3', 3, 0],
      ['2026Q1', 3, 0],
      ['2026Q3', 3, 1],
    ]);
    await refreshMartDuckDb(w, getMart('indicator_person_period'));
    expect(await w.query(`SELECT count(*)::INTEGER AS n FROM marts.indicator_person_period WHERE person_key NOT SIMILAR TO '(cpf|cns|pec):.*'`)).toEqual([{ n: 0 }]);
  });

  it('the queries of docs/powerbi.md run as written; "below target this period" finds the team that fell below', async () => {
    // Runs after the previous test: W2's collection is gone, so T1's cytology in 2026Q3 is 1/3 < 40 %.
    const doc = fs.readFileSync(path.join(__dirname, '../../docs/powerbi.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Queries (`npm run query`)'));
    const queries = [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(queries).toHaveLength(4);
    const results = [];
    for (const q of queries) results.push(await w.query(q));
    expect(results[0]!.map((r) => [r.team_ine, r.indicator_id, r.quadrimestre, r.rate, r.target])).toEqual([[T1, 'previne_cytology', '2026Q3', 0.3333, 0.4]]);
    // C6 in 2026Q3 after H2's death: H1 75 (no influenza dose), W1 0, W2 0 → mean 25.
    // C7 in 2026Q3 after W2's collection was deleted: A 1 of 3 (W7), C 0 of 5, D 0 of 2, nobody for B →
    // 20 · 1/3 × 100 / (20 + 30 + 20) = 9.52.
    expect(results[1]!.map((r) => [r.indicator_id, r.score_mean])).toEqual([
      ['c7_womens_cancer_prevention', 9.52],
      ['c6_older_people', 25],
      ['c5_hypertension', 100],
    ]);
    expect(results[2]!.map((r) => [r.indicator_id, r.person_key, r.missing_practices])).toEqual([
      // Team '-' sorts first.
      ['c7_womens_cancer_prevention', 'cpf:w8', '1,3'],
      ['previne_cytology', 'cpf:w8', '1'],
      // Then by indicator, the most practices missing first.
      ['c6_older_people', 'cpf:w1', '1,2,3,4'],
      ['c6_older_people', 'cpf:w2', '1,2,3,4'],
      ['c6_older_people', 'cpf:h1', '4'],
      ['c7_womens_cancer_prevention', 'cpf:w2', '1,3,4'], // her collection was deleted above
      ['c7_womens_cancer_prevention', 'cpf:w1', '3,4'],
      ['c7_womens_cancer_prevention', 'cpf:w4', '1,3'],
      ['c7_womens_cancer_prevention', 'cpf:w3', '3'],
      ['c7_womens_cancer_prevention', 'cpf:w7', '3'],
      ['previne_cytology', 'cpf:w2', '1'],
      ['previne_cytology', 'cpf:w4', '1'],
    ]);
    expect(results[3]!.length).toBeGreaterThan(0);
  });
});
