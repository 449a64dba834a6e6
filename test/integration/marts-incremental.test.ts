import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBValue } from '@duckdb/node-api';
import { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { MARTS, MART_TABLES, REFRESHED_MART_NAMES, getMart, martDefinitionVersion, refreshMartDuckDb, type Mart } from '../../shared/marts/marts';
import { REFRESH_STATE_TABLE } from '../../shared/marts/refresh-scope';
import { FACT_TABLE } from '../../shared/marts/star';
import { PEC_TABLES } from '../../shared/tables/pec-tables';

/**
 * The incremental refresh (shared/marts/refresh-scope.ts, docs/marts.md "Refresh") on a real DuckDB
 * warehouse with two municipalities, A and B, the same hand-made data in each. Data as of
 * 2026-11-22: 2026Q2 is closed and, for the 6-month indicators, its history (from 2026-01) is
 * complete, so those rows are frozen; 2026Q3 is open.
 *
 * A load is what the loader writes: rows in raw and a slice in ops.loaded_slices (the ledger the
 * refresh reads). Every recomputed row gets a new `refreshed_at`, so comparing whole rows, that
 * column included, tells recomputed rows from untouched ones.
 */
const A = '3509502';
const B = '3548500';
type Row = Record<string, DuckDBValue>;

async function insert(w: DuckDbWarehouse, municipality: string, table: string, rows: Row[]): Promise<void> {
  for (const r of rows) {
    const cols = [...Object.keys(r), '_municipality_ibge', '_run_id', '_extracted_at'];
    const values = [...Object.values(r), municipality, 'fixture', '2026-11-22 06:00:00'];
    await w.execute(`INSERT INTO raw.${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, values);
  }
}

/** What a load of `municipality` leaves in the slice ledger (one slice is enough: the refresh reads the newest loaded_at). */
async function recordLoad(w: DuckDbWarehouse, municipality: string, loadedAt: string): Promise<void> {
  await w.execute(
    `INSERT INTO ops.loaded_slices (table_name, municipality, window_start, window_end, run_id, extracted_at, rows_loaded, load_id, loaded_at)
     VALUES ('tb_fat_atendimento_individual', $1, NULL, NULL, 'fixture', CAST($2 AS TIMESTAMP), 3, $3, CAST($2 AS TIMESTAMP))`,
    [municipality, loadedAt, `load-${municipality}-${loadedAt}`],
  );
}

async function seed(w: DuckDbWarehouse, m: string, name: string): Promise<void> {
  await insert(w, m, 'tb_dim_municipio', [{ co_seq_dim_municipio: 2, no_municipio: name, co_ibge: m }]);
  await insert(w, m, 'tb_dim_equipe', [
    { co_seq_dim_equipe: 1, nu_ine: '-', no_equipe: 'Não informado' },
    { co_seq_dim_equipe: 2, nu_ine: '0000000011', no_equipe: 'ESF 1' },
  ]);
  await insert(w, m, 'tb_dim_cbo', [{ co_seq_dim_cbo: 40, nu_cbo: '225142' }]);
  await insert(w, m, 'tb_dim_cid', [{ co_seq_dim_cid: 1, nu_cid: '-' }]);
  await insert(w, m, 'tb_dim_ciap', [
    { co_seq_dim_ciap: 1, nu_ciap: '-' },
    { co_seq_dim_ciap: 20, nu_ciap: 'K86' },
  ]);
  await insert(w, m, 'tb_dim_sexo', [{ co_seq_dim_sexo: 2, sg_sexo: 'M', ds_sexo: 'Masculino' }]);
  const person = (id: number, cpf: string): Row => ({
    co_seq_fat_cidadao_pec: id,
    nu_cpf_cidadao: cpf,
    co_dim_sexo: 2,
    co_dim_tempo_nascimento: 19600101,
    co_dim_equipe_vinc: 2,
    st_faleceu: 0,
  });
  await insert(w, m, 'tb_fat_cidadao_pec', [person(1, `${m}-h1`), person(2, `${m}-h2`)]);
  const consultation = (id: number, citizen: number, day: number, pressure: number | null = null): Row => ({
    co_seq_fat_atd_ind: id,
    co_fat_cidadao_pec: citizen,
    co_dim_tempo: day,
    co_dim_cbo_1: 40,
    nu_pressao_sistolica: pressure,
  });
  // Hypertension (K86) recorded by a doctor: 2026-01 (history starts), 2026-06 with a pressure (2026Q2), 2026-09 (2026Q3).
  await insert(w, m, 'tb_fat_atendimento_individual', [consultation(901, 1, 20260110), consultation(902, 1, 20260610, 130), consultation(903, 2, 20260915)]);
  await insert(
    w,
    m,
    'tb_fat_atd_ind_problemas',
    [901, 902, 903].map((id, k) => ({
      co_seq_fat_atd_ind_problemas: k + 1,
      co_fat_atd_ind: id,
      co_fat_cidadao_pec: k === 2 ? 2 : 1,
      co_dim_cid: 1,
      co_dim_ciap: 20,
      co_dim_tempo: [20260110, 20260610, 20260915][k]!,
    })),
  );
}

const MARTS_WITH_ROWS = MART_TABLES.filter((t) => t.name !== REFRESH_STATE_TABLE.name).map((t) => t.name);

describe('the marts refresh incrementally, per changed municipality and period', () => {
  let dir: string;
  let w: DuckDbWarehouse;
  const refreshAll = async (marts: readonly Mart[] = MARTS) => {
    for (const m of marts) await refreshMartDuckDb(w, m);
  };
  /** Every row of every mart for one municipality, refreshed_at included (as text: exact). */
  const snapshot = async (m: string) => {
    const out: Record<string, string[]> = {};
    for (const t of MARTS_WITH_ROWS) {
      const rows = await w.query(`SELECT * FROM marts.${t} WHERE municipality_ibge = $1`, [m]);
      out[t] = rows.map((r) => JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).sort();
    }
    return out;
  };
  /** The watermark per mart and municipality: the latest state row (the state is appended to). */
  const state = async () =>
    (
      await w.query(
        `SELECT mart, municipality_ibge AS m, CAST(loaded_through AS VARCHAR) AS loaded, definition_version AS version, CAST(refreshed_at AS VARCHAR) AS at
         FROM marts.refresh_state QUALIFY ROW_NUMBER() OVER (PARTITION BY mart, municipality_ibge ORDER BY refreshed_at DESC) = 1 ORDER BY 1, 2`,
      )
    ).map((r) => ({ mart: String(r.mart), m: String(r.m), loaded: r.loaded === null ? null : String(r.loaded), version: String(r.version), at: String(r.at) }));
  const factRows = async (m: string, where = 'TRUE') =>
    (
      await w.query(
        `SELECT quadrimestre AS q, person_key AS p, in_numerator::INTEGER AS n, period_closed::INTEGER AS closed, history_complete::INTEGER AS complete
         FROM marts.indicator_person_period WHERE municipality_ibge = $1 AND indicator_id = 'previne_hypertension' AND ${where} ORDER BY 1, 2`,
        [m],
      )
    ).map((r) => ({ ...r }));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-incr-'));
    w = await DuckDbWarehouse.open(path.join(dir, 'w.duckdb'));
    await w.ensureRawTables(PEC_TABLES);
    await seed(w, A, 'Campinas');
    await seed(w, B, 'Santos');
    await recordLoad(w, A, '2026-11-22 07:00:00');
    await recordLoad(w, B, '2026-11-22 07:00:00');
    await refreshAll();
  });
  afterAll(() => {
    w?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the first refresh computes every municipality and records, per mart, the load and the definition it computed from', async () => {
    for (const m of [A, B])
      expect(await factRows(m)).toEqual([
        { q: '2026Q1', p: `cpf:${m}-h1`, n: 0, closed: 1, complete: 0 },
        { q: '2026Q2', p: `cpf:${m}-h1`, n: 1, closed: 1, complete: 1 },
        { q: '2026Q3', p: `cpf:${m}-h1`, n: 0, closed: 0, complete: 1 },
        { q: '2026Q3', p: `cpf:${m}-h2`, n: 0, closed: 0, complete: 1 },
      ]);
    const s = await state();
    expect(s.map(({ mart, m, loaded, version }) => ({ mart, m, loaded, version }))).toEqual(
      [...REFRESHED_MART_NAMES].sort().flatMap((mart) => [A, B].map((m) => ({ mart, m, loaded: '2026-11-22 07:00:00', version: martDefinitionVersion(getMart(mart)) }))),
    );
  });

  it('a run that loads A and not B (B failed): only A is recomputed, B keeps its rows as they were', async () => {
    const [a0, b0, s0] = [await snapshot(A), await snapshot(B), await state()];
    // A's newer extraction: H2 died. B's raw changes too, but no load of B is in the ledger (its
    // load failed; a change without a load cannot happen, it only proves B is not recomputed).
    await w.execute(`UPDATE raw.tb_fat_cidadao_pec SET st_faleceu = 1 WHERE co_seq_fat_cidadao_pec = 2`);
    await recordLoad(w, A, '2026-11-23 07:00:00');
    await refreshAll();
    expect(await snapshot(B)).toEqual(b0);
    expect(await factRows(A, "quadrimestre = '2026Q3'")).toEqual([{ q: '2026Q3', p: `cpf:${A}-h1`, n: 0, closed: 0, complete: 1 }]);
    // A's frozen rows are untouched, its other rows recomputed (new refreshed_at).
    const a1 = await snapshot(A);
    const frozen = (rows: string[]) => rows.filter((r) => /"period_closed":"1"/.test(r) && /"history_complete":"1"/.test(r));
    expect(frozen(a1[FACT_TABLE]!)).toEqual(frozen(a0[FACT_TABLE]!));
    expect(frozen(a1[FACT_TABLE]!).length).toBeGreaterThan(0);
    const open = (rows: string[]) => rows.filter((r) => /"period_closed":"0"/.test(r));
    for (const r of open(a1[FACT_TABLE]!)) expect(a0[FACT_TABLE]).not.toContain(r);
    // The state moved for A only.
    const s1 = await state();
    expect(s1.filter((r) => r.m === B)).toEqual(s0.filter((r) => r.m === B));
    for (const r of s1.filter((x) => x.m === A)) {
      expect(r.loaded).toBe('2026-11-23 07:00:00');
      expect(r.at > s0.find((x) => x.mart === r.mart && x.m === A)!.at).toBe(true);
    }
  });

  it('a rerun of A at noon recomputes A only; running the refresh again with nothing loaded changes nothing (idempotent)', async () => {
    const b0 = await snapshot(B);
    await recordLoad(w, A, '2026-11-23 12:00:00');
    await refreshAll();
    expect(await snapshot(B)).toEqual(b0);
    expect((await state()).filter((r) => r.m === A).map((r) => r.loaded)).toEqual(REFRESHED_MART_NAMES.map(() => '2026-11-23 12:00:00'));
    const stateRows = async () => (await w.query(`SELECT count(*)::INTEGER AS n FROM marts.refresh_state`))[0]!.n;
    const [a1, b1, s1, n1] = [await snapshot(A), await snapshot(B), await state(), await stateRows()];
    await refreshAll();
    expect({ a: await snapshot(A), b: await snapshot(B), state: await state(), rows: await stateRows() }).toEqual({ a: a1, b: b1, state: s1, rows: n1 });
  });

  it("a change of a mart's definition recomputes every municipality's unfrozen rows, and leaves frozen rows as they were", async () => {
    const fact = getMart(FACT_TABLE);
    // The same mart with one more statement: another definition, as a deploy of new SQL would be.
    const changed: Mart = { ...fact, refreshStatements: (d) => [...fact.refreshStatements(d), 'SELECT 1'] };
    expect(martDefinitionVersion(changed)).not.toBe(martDefinitionVersion(fact));
    const before: Record<string, Record<string, string[]>> = { [A]: await snapshot(A), [B]: await snapshot(B) };
    await refreshMartDuckDb(w, changed);
    for (const m of [A, B]) {
      const after = await snapshot(m);
      const frozen = (rows: string[]) => rows.filter((r) => /"period_closed":"1"/.test(r) && /"history_complete":"1"/.test(r));
      expect(frozen(after[FACT_TABLE]!)).toEqual(frozen(before[m]![FACT_TABLE]!));
      const unfrozen = after[FACT_TABLE]!.filter((r) => !frozen([r]).length);
      expect(unfrozen.length).toBeGreaterThan(0);
      for (const r of unfrozen) expect(before[m]![FACT_TABLE]).not.toContain(r);
    }
    // B's unrecorded change is now in its rows: H2 gone from 2026Q3.
    expect(await factRows(B, "quadrimestre = '2026Q3'")).toEqual([{ q: '2026Q3', p: `cpf:${B}-h1`, n: 0, closed: 0, complete: 1 }]);
    expect((await state()).filter((r) => r.mart === FACT_TABLE).map((r) => r.version)).toEqual([martDefinitionVersion(changed), martDefinitionVersion(changed)]);
    // Back to the deployed definition: everything unfrozen again, once (the latest state row counts,
    // not an older one of the same version).
    await refreshMartDuckDb(w, fact);
    expect((await state()).filter((r) => r.mart === FACT_TABLE).map((r) => r.version)).toEqual([martDefinitionVersion(fact), martDefinitionVersion(fact)]);
    const again = { [A]: await snapshot(A), [B]: await snapshot(B) };
    await refreshAll();
    expect({ [A]: await snapshot(A), [B]: await snapshot(B) }).toEqual(again);
  });

  it('a municipality the ledger knows nothing about (data loaded before it existed) is recomputed at every refresh', async () => {
    const C = '4106902';
    await seed(w, C, 'Curitiba');
    await refreshAll();
    const c0 = await snapshot(C);
    expect(c0[FACT_TABLE]!.length).toBeGreaterThan(0);
    expect((await state()).filter((r) => r.m === C).map((r) => r.loaded)).toEqual(REFRESHED_MART_NAMES.map(() => null));
    await refreshAll();
    const c1 = await snapshot(C);
    const open = (rows: string[]) => rows.filter((r) => /"period_closed":"0"/.test(r));
    for (const r of open(c1[FACT_TABLE]!)) expect(c0[FACT_TABLE]).not.toContain(r);
  });
});
