import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBValue } from '@duckdb/node-api';
import { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { MARTS, getMart, refreshMartDuckDb } from '../../shared/marts/marts';
import { PEC_TABLES } from '../../shared/tables/pec-tables';

/**
 * The follow-up marts (Previne Brasil 6 and 7) on a hand-made warehouse whose expected indicators
 * are computed by hand (below, person by person). Two municipalities reuse the same surrogate keys
 * for different things (citizen 1, CID id 10, CIAP id 20, procedure id 30, team id 2), so any join
 * that forgets the municipality changes the numbers. Rules: docs/indicators/hypertension.md,
 * diabetes.md, common.md.
 *
 *   A = 3509502 Campinas. Teams: 1 sentinel '-', 2 = T1 (INE 0000000011), 3 = T2 (INE 0000000022).
 *       CBO 40 = 225142 doctor, 41 = 223565 nurse, 42 = 322205 nursing technician (does not count).
 *       CID 10 = I109, 11 = O100 (pre-existing hypertension in pregnancy), 12 = O240 (pre-existing diabetes), 13 = E119.
 *       CIAP 20 = K86, 21 = K87, 22 = ABP005. Procedure 30 = ABPG033 (blood pressure), 31 = 0202010503 (HbA1c).
 *   B = 3548500 Santos. Team 2 = TB1 (INE 0000000033). CBO 40 = 225142. CID 10 = E119, CIAP 20 = T90, procedure 30 = 0202010503 (HbA1c).
 *
 * Data as of 2026-11-22 (the extraction). Quadrimestres with consultations in A: 2026Q1, Q2, Q3; in B: 2026Q2.
 * Windows: Q1 [2025-11-01, 2026-05-01), Q2 [2026-03-01, 2026-09-01), Q3 [2026-07-01, 2027-01-01).
 * Honesty: Q1 and Q2 are closed (data as of ≥ 06-01 and ≥ 10-01), Q3 is open. A's history starts 2026-02
 * (its first consultation): complete for Q2 and Q3, not for Q1 (window from 2025-11); B's starts 2026-05: incomplete.
 *
 * A, hypertension ("consultation" = by a doctor or nurse, recording a hypertension code):
 *   P1 (citizen 1, CPF c1, T1): K86 in a doctor's consultation 04-10 and a nurse's 06-01; BP procedure 06-01; a registration saying "no" does not undo the diagnosis.
 *   P2 (citizen 2, T1): I109 by a doctor 02-20; consultation 05-05 by a nursing technician with I109 and a pressure: the consultation does not count.
 *   P3 (citizen 3, no CPF, CNS n3, T2): self-declared (registration 2025-10-01); doctor's consultation 07-01 recording O100 and a systolic pressure.
 *   P4 (citizen 4, T2): self-declared in 2025-10-01, withdrawn by the newer registration version of 2026-02-01: never counted.
 *   P5 (citizens 51 and 52, same CPF c5): K87 on 03-15 on record 51 (sentinel team); nurse's consultation 08-20 recording ABP005 and BP 08-30 on record 52 (T2): one person, team T2.
 *   P6 (citizen 6, deceased): K86, consultation with BP: never counted.
 *   P7 (citizen 7, sentinel team): K86 on 09-10 (after Q2 ends); no BP.
 *   P8 (citizen 8, empty CPF, CNS n8, T1): I109 by a doctor 02-15 (A's first consultation); BP 06-10.
 *   P9 (citizens 91 {CPF c9, T1}, 92 {CNS n9}, 93 {CPF c9, CNS n9}: one person through the shared numbers, team T1):
 *       K86 by a doctor 06-01 on record 92, BP 06-02 on record 91.
 *   Q1: T1 {P1,P2,P8} 0 followed; T2 {P3,P5} 0.     Q2: T1 {P1,P2,P8,P9} 2 (P1, P9); T2 {P3,P5} 2.
 *   Q3: '-' {P7} 0; T1 {P1,P2,P8,P9} 0; T2 {P3,P5} 2.
 * A, diabetes: P3 self-declared; consultation 07-01 records O240 and evaluates an HbA1c: in Q1 not followed, in Q2 and Q3 followed.
 *   P9: diabetes self-declared on record 91 (2026-03-01), denied by the newer version on record 93 (2026-07-01): in Q1 only (T1, not followed).
 *   P10 (citizen 10, T1): E119 recorded only by a nursing technician: not in any denominator.
 * B, diabetes (2026Q2): B-P1 (citizen 1, CPF c1 — same pseudonym as A's P1) T90 on 05-02, HbA1c requested 05-02: followed.
 *   B-P2 (citizen 2, no CPF/CNS) E119 on 06-01, HbA1c only evaluated: followed (evaluated counts). TB1: 2 people, 2 followed.
 * B, hypertension: nobody (B's CIAP 20 is T90, not K86).
 */
const A = '3509502';
const B = '3548500';

type Row = Record<string, DuckDBValue>;

async function insert(w: DuckDbWarehouse, table: string, municipality: string, rows: Row[]): Promise<void> {
  for (const r of rows) {
    const cols = [...Object.keys(r), '_municipality_ibge', '_run_id', '_extracted_at'];
    const values = [...Object.values(r), municipality, 'fixture', '2026-11-22 06:00:00'];
    await w.execute(`INSERT INTO raw.${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, values);
  }
}

async function seedFixture(w: DuckDbWarehouse): Promise<void> {
  // Dimensions, landed once per municipality (installation-wide tables).
  await insert(w, 'tb_dim_municipio', A, [
    { co_seq_dim_municipio: 1, no_municipio: 'Não informado', co_ibge: '-' },
    { co_seq_dim_municipio: 2, no_municipio: 'Campinas', co_ibge: A },
  ]);
  await insert(w, 'tb_dim_municipio', B, [{ co_seq_dim_municipio: 2, no_municipio: 'Santos', co_ibge: B }]);
  await insert(w, 'tb_dim_equipe', A, [
    { co_seq_dim_equipe: 1, nu_ine: '-', no_equipe: 'Não informado' },
    { co_seq_dim_equipe: 2, nu_ine: '0000000011', no_equipe: 'ESF 1 - Centro' },
    { co_seq_dim_equipe: 3, nu_ine: '0000000022', no_equipe: 'ESF 2 - Norte' },
  ]);
  await insert(w, 'tb_dim_equipe', B, [
    { co_seq_dim_equipe: 1, nu_ine: '-', no_equipe: 'Não informado' },
    { co_seq_dim_equipe: 2, nu_ine: '0000000033', no_equipe: 'ESF Santos' },
  ]);
  await insert(w, 'tb_dim_cbo', A, [
    { co_seq_dim_cbo: 1, nu_cbo: '-' },
    { co_seq_dim_cbo: 40, nu_cbo: '225142' },
    { co_seq_dim_cbo: 41, nu_cbo: '223565' },
    { co_seq_dim_cbo: 42, nu_cbo: '322205' },
  ]);
  await insert(w, 'tb_dim_cbo', B, [
    { co_seq_dim_cbo: 1, nu_cbo: '-' },
    { co_seq_dim_cbo: 40, nu_cbo: '225142' },
  ]);
  await insert(w, 'tb_dim_cid', A, [
    { co_seq_dim_cid: 1, nu_cid: '-' },
    { co_seq_dim_cid: 10, nu_cid: 'I109' },
    { co_seq_dim_cid: 11, nu_cid: 'O100' },
    { co_seq_dim_cid: 12, nu_cid: 'O240' },
    { co_seq_dim_cid: 13, nu_cid: 'E119' },
  ]);
  await insert(w, 'tb_dim_cid', B, [
    { co_seq_dim_cid: 1, nu_cid: '-' },
    { co_seq_dim_cid: 10, nu_cid: 'E119' },
  ]);
  await insert(w, 'tb_dim_ciap', A, [
    { co_seq_dim_ciap: 1, nu_ciap: '-' },
    { co_seq_dim_ciap: 20, nu_ciap: 'K86' },
    { co_seq_dim_ciap: 21, nu_ciap: 'K87' },
    { co_seq_dim_ciap: 22, nu_ciap: 'ABP005' },
  ]);
  await insert(w, 'tb_dim_ciap', B, [
    { co_seq_dim_ciap: 1, nu_ciap: '-' },
    { co_seq_dim_ciap: 20, nu_ciap: 'T90' },
  ]);
  await insert(w, 'tb_dim_procedimento', A, [
    { co_seq_dim_procedimento: 1, co_proced: '-' },
    { co_seq_dim_procedimento: 30, co_proced: 'ABPG033' },
    { co_seq_dim_procedimento: 31, co_proced: '0202010503' },
  ]);
  await insert(w, 'tb_dim_procedimento', B, [
    { co_seq_dim_procedimento: 1, co_proced: '-' },
    { co_seq_dim_procedimento: 30, co_proced: '0202010503' },
  ]);

  const citizen = (id: number, team: number, o: Row = {}): Row => ({
    co_seq_fat_cidadao_pec: id,
    nu_cpf_cidadao: null,
    nu_cns: null,
    co_dim_equipe_vinc: team,
    st_faleceu: 0,
    co_dim_municipio: 2,
    ...o,
  });
  await insert(w, 'tb_fat_cidadao_pec', A, [
    citizen(1, 2, { nu_cpf_cidadao: 'c1' }),
    citizen(2, 2, { nu_cpf_cidadao: 'c2' }),
    citizen(3, 3, { nu_cns: 'n3' }),
    citizen(4, 3, { nu_cpf_cidadao: 'c4' }),
    citizen(51, 1, { nu_cpf_cidadao: 'c5' }),
    citizen(52, 3, { nu_cpf_cidadao: 'c5' }),
    citizen(6, 2, { nu_cpf_cidadao: 'c6', st_faleceu: 1 }),
    citizen(7, 1, { nu_cpf_cidadao: 'c7' }),
    citizen(8, 2, { nu_cpf_cidadao: '', nu_cns: 'n8' }),
    citizen(91, 2, { nu_cpf_cidadao: 'c9' }),
    citizen(92, 1, { nu_cns: 'n9' }),
    citizen(93, 1, { nu_cpf_cidadao: 'c9', nu_cns: 'n9' }),
    citizen(10, 2, { nu_cpf_cidadao: 'c10' }),
  ]);
  await insert(w, 'tb_fat_cidadao_pec', B, [citizen(1, 2, { nu_cpf_cidadao: 'c1' }), citizen(2, 2)]);

  const consultation = (id: number, citizenId: number, day: number, cbo: number, systolic: number | null = null): Row => ({
    co_seq_fat_atd_ind: id,
    co_fat_cidadao_pec: citizenId,
    co_dim_cbo_1: cbo,
    nu_pressao_sistolica: systolic,
    co_dim_tempo: day,
    co_dim_municipio: 2,
  });
  await insert(w, 'tb_fat_atendimento_individual', A, [
    consultation(101, 1, 20260601, 41),
    consultation(110, 1, 20260410, 40),
    consultation(102, 2, 20260505, 42, 120),
    consultation(112, 2, 20260220, 40),
    consultation(103, 3, 20260701, 40, 130),
    consultation(113, 51, 20260315, 40),
    consultation(105, 52, 20260820, 41),
    consultation(106, 6, 20260601, 40, 120),
    consultation(107, 7, 20260910, 40),
    consultation(108, 8, 20260215, 40),
    consultation(120, 92, 20260601, 40),
    consultation(130, 10, 20260310, 42),
  ]);
  await insert(w, 'tb_fat_atendimento_individual', B, [consultation(201, 1, 20260502, 40), consultation(202, 2, 20260601, 40)]);

  let seq = 0;
  // A problem recorded in a consultation (same citizen and day as the consultation, as the PEC writes it).
  const problem = (consultationId: number, citizenId: number, day: number, cid: number, ciap: number): Row => ({
    co_seq_fat_atd_ind_problemas: ++seq,
    co_fat_atd_ind: consultationId,
    co_fat_cidadao_pec: citizenId,
    co_dim_cid: cid,
    co_dim_ciap: ciap,
    co_dim_tempo: day,
    co_dim_municipio: 2,
  });
  await insert(w, 'tb_fat_atd_ind_problemas', A, [
    problem(101, 1, 20260601, 1, 20),
    problem(110, 1, 20260410, 1, 20),
    problem(102, 2, 20260505, 10, 1),
    problem(112, 2, 20260220, 10, 1),
    problem(103, 3, 20260701, 11, 1),
    problem(103, 3, 20260701, 12, 1),
    problem(113, 51, 20260315, 1, 21),
    problem(105, 52, 20260820, 1, 22),
    problem(106, 6, 20260601, 1, 20),
    problem(107, 7, 20260910, 1, 20),
    problem(108, 8, 20260215, 10, 1),
    problem(120, 92, 20260601, 1, 20),
    problem(130, 10, 20260310, 13, 1),
  ]);
  await insert(w, 'tb_fat_atd_ind_problemas', B, [problem(201, 1, 20260502, 1, 20), problem(202, 2, 20260601, 10, 1)]);

  const registration = (id: number, citizenId: number, day: number, hypertension: number, diabetes: number): Row => ({
    co_seq_fat_cad_individual: id,
    co_fat_cidadao_pec: citizenId,
    st_hipertensao_arterial: hypertension,
    st_diabete: diabetes,
    co_dim_tempo: day,
    co_dim_municipio: 2,
  });
  await insert(w, 'tb_fat_cad_individual', A, [
    registration(1, 3, 20251001, 1, 1),
    registration(2, 4, 20251001, 1, 0),
    registration(3, 4, 20260201, 0, 0),
    registration(4, 1, 20250601, 0, 0),
    registration(5, 91, 20260301, 0, 1),
    registration(6, 93, 20260701, 0, 0),
  ]);

  const performed = (id: number, citizenId: number, proc: number, day: number): Row => ({
    co_seq_fat_proced_atend_proced: id,
    co_fat_cidadao_pec: citizenId,
    co_dim_procedimento: proc,
    co_dim_tempo: day,
    co_dim_municipio: 2,
  });
  await insert(w, 'tb_fat_proced_atend_proced', A, [
    performed(301, 1, 30, 20260601),
    performed(305, 52, 30, 20260830),
    performed(308, 8, 30, 20260610),
    performed(309, 91, 30, 20260602),
  ]);

  const exam = (id: number, consultationId: number, citizenId: number, requested: number, evaluated: number, day: number): Row => ({
    co_seq_fat_atd_ind_procedimentos: id,
    co_fat_atd_ind: consultationId,
    co_fat_cidadao_pec: citizenId,
    co_dim_procedimento_solicitado: requested,
    co_dim_procedimento_avaliado: evaluated,
    co_dim_tempo: day,
    co_dim_municipio: 2,
  });
  await insert(w, 'tb_fat_atd_ind_procedimentos', A, [exam(503, 103, 3, 30, 31, 20260701), exam(504, 130, 10, 31, 1, 20260310)]);
  await insert(w, 'tb_fat_atd_ind_procedimentos', B, [exam(501, 201, 1, 30, 1, 20260502), exam(502, 202, 2, 1, 30, 20260601)]);
}

const T1 = ['0000000011', 'ESF 1 - Centro'];
const T2 = ['0000000022', 'ESF 2 - Norte'];
const NONE = ['-', 'Não informado'];
const TB1 = ['0000000033', 'ESF Santos'];

describe('follow-up marts on a hand-made warehouse', () => {
  let dir: string;
  let w: DuckDbWarehouse;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-marts-'));
    w = await DuckDbWarehouse.open(path.join(dir, 'w.duckdb'));
    await w.ensureRawTables(PEC_TABLES);
    await seedFixture(w);
    for (const m of MARTS) await refreshMartDuckDb(w, m);
  });
  afterAll(() => {
    w?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rows = async (mart: string) =>
    (
      await w.query(
        `SELECT municipality_ibge, municipality_name, team_ine, team_name, quadrimestre, denominator::INTEGER AS d, numerator::INTEGER AS n, rate
         FROM marts.${mart} ORDER BY municipality_ibge, quadrimestre, team_ine`,
      )
    ).map((r) => [r.municipality_ibge, r.municipality_name, r.team_ine, r.team_name, r.quadrimestre, r.d, r.n, r.rate]);

  it('hypertension: a consultation recording it by a doctor or nurse and a blood-pressure measurement in the 6 months to the end of each quadrimestre', async () => {
    expect(await rows('hypertension_follow_up')).toEqual([
      [A, 'Campinas', ...T1, '2026Q1', 3, 0, 0],
      [A, 'Campinas', ...T2, '2026Q1', 2, 0, 0],
      [A, 'Campinas', ...T1, '2026Q2', 4, 2, 0.5],
      [A, 'Campinas', ...T2, '2026Q2', 2, 2, 1],
      [A, 'Campinas', ...NONE, '2026Q3', 1, 0, 0],
      [A, 'Campinas', ...T1, '2026Q3', 4, 0, 0],
      [A, 'Campinas', ...T2, '2026Q3', 2, 2, 1],
    ]);
  });

  it('diabetes: a consultation recording it by a doctor or nurse and an HbA1c requested or evaluated in the 6 months to the end of each quadrimestre', async () => {
    expect(await rows('diabetes_follow_up')).toEqual([
      [A, 'Campinas', ...T1, '2026Q1', 1, 0, 0],
      [A, 'Campinas', ...T2, '2026Q1', 1, 0, 0],
      [A, 'Campinas', ...T2, '2026Q2', 1, 1, 1],
      [A, 'Campinas', ...T2, '2026Q3', 1, 1, 1],
      [B, 'Santos', ...TB1, '2026Q2', 2, 2, 1],
    ]);
  });

  it('says of each row whether its period is closed and whether the loaded history covers its window', async () => {
    const honesty = await w.query(
      `SELECT DISTINCT municipality_ibge AS m, quadrimestre AS q, period_closed::INTEGER AS closed, history_complete::INTEGER AS history,
         strftime(data_as_of, '%Y-%m-%d') AS as_of
       FROM marts.diabetes_follow_up ORDER BY 1, 2`,
    );
    expect(honesty).toEqual([
      { m: A, q: '2026Q1', closed: 1, history: 0, as_of: '2026-11-22' },
      { m: A, q: '2026Q2', closed: 1, history: 1, as_of: '2026-11-22' },
      { m: A, q: '2026Q3', closed: 0, history: 1, as_of: '2026-11-22' },
      { m: B, q: '2026Q2', closed: 1, history: 0, as_of: '2026-11-22' },
    ]);
  });

  it('states each quadrimestre and its follow-up window as dates', async () => {
    const periods = await w.query(
      `SELECT DISTINCT quadrimestre, strftime(quadrimestre_start, '%Y-%m-%d') AS qs, strftime(quadrimestre_end, '%Y-%m-%d') AS qe,
         strftime(window_start, '%Y-%m-%d') AS ws, strftime(window_end, '%Y-%m-%d') AS we, refreshed_at IS NOT NULL AS stamped
       FROM marts.hypertension_follow_up ORDER BY 1`,
    );
    expect(periods).toEqual([
      { quadrimestre: '2026Q1', qs: '2026-01-01', qe: '2026-04-30', ws: '2025-11-01', we: '2026-05-01', stamped: true },
      { quadrimestre: '2026Q2', qs: '2026-05-01', qe: '2026-08-31', ws: '2026-03-01', we: '2026-09-01', stamped: true },
      { quadrimestre: '2026Q3', qs: '2026-09-01', qe: '2026-12-31', ws: '2026-07-01', we: '2027-01-01', stamped: true },
    ]);
  });

  it('a refresh recomputes open periods and keeps closed ones frozen: a later death or a deleted measurement does not rewrite them', async () => {
    const before = await rows('hypertension_follow_up');
    await refreshMartDuckDb(w, getMart(getMart('hypertension_follow_up').refreshedWith!));
    expect(await rows('hypertension_follow_up')).toEqual(before);
    const stamp = async () =>
      (await w.query(`SELECT CAST(max(refreshed_at) AS VARCHAR) AS t FROM marts.hypertension_follow_up WHERE municipality_ibge = $1 AND quadrimestre = '2026Q2'`, [A]))[0]!.t;
    const frozenAt = await stamp();
    // P1 dies (the PEC has no date of death) and P5's blood-pressure measurement of 08-30 is deleted.
    await w.execute(`UPDATE raw.tb_fat_cidadao_pec SET st_faleceu = 1 WHERE _municipality_ibge = $1 AND co_seq_fat_cidadao_pec = 1`, [A]);
    await w.execute(`DELETE FROM raw.tb_fat_proced_atend_proced WHERE _municipality_ibge = $1 AND co_seq_fat_proced_atend_proced = 305`, [A]);
    await refreshMartDuckDb(w, getMart(getMart('hypertension_follow_up').refreshedWith!));
    expect(await rows('hypertension_follow_up')).toEqual([
      // Q1 is closed but its history is incomplete: recomputed, P1 leaves T1.
      [A, 'Campinas', ...T1, '2026Q1', 2, 0, 0],
      [A, 'Campinas', ...T2, '2026Q1', 2, 0, 0],
      // Q2 is closed with complete history: frozen as published.
      [A, 'Campinas', ...T1, '2026Q2', 4, 2, 0.5],
      [A, 'Campinas', ...T2, '2026Q2', 2, 2, 1],
      // Q3 is open: P1 leaves T1, P5 is no longer followed.
      [A, 'Campinas', ...NONE, '2026Q3', 1, 0, 0],
      [A, 'Campinas', ...T1, '2026Q3', 3, 0, 0],
      [A, 'Campinas', ...T2, '2026Q3', 2, 1, 0.5],
    ]);
    expect(await stamp()).toBe(frozenAt);
  });
});
