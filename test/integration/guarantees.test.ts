import { Pseudonymizer } from '../../shared/extract/pseudonymizer';
import { REQUEST, seedSource } from '../faults/support/harness';
import { TEST_KEY, testPipeline } from '../support/local-pipeline';
import type { TestDatabase } from '../support/pg';

/**
 * Guarantees checked by what happens, not by the text of the SQL that is supposed to provide them:
 *
 * 1. One extraction reads every table from ONE snapshot: a write committed to the source between
 *    two tables' COPY does not show up in the staged (and loaded) data.
 * 2. Windows are half-open [start, end): a row on a window's first day and on its last day lands in
 *    exactly one slice, and re-running an older window never deletes the next window's first day.
 * 3. No clear-text personal identifier lands, checked against a list of personal-data columns
 *    written by hand here from the PEC's documented schema — NOT read from the table registry, so a
 *    registry mistake (a CPF column marked `keep`) cannot be its own oracle.
 */
const CAMPINAS = { ibge: '3509502', name: 'Campinas', uf: 'SP' as const };
const q = (ident: string) => `"${ident.replaceAll('"', '""')}"`;

describe('guarantees, by behaviour', () => {
  let db: TestDatabase;
  const municipioIds = () => `SELECT co_seq_dim_municipio FROM tb_dim_municipio WHERE co_ibge = '${CAMPINAS.ibge}'`;

  /** Inserts a copy of one of the municipality's rows of `table` with `overrides` (new primary key, …). */
  async function insertCopy(table: string, overrides: Record<string, string | number>, where = `co_dim_municipio IN (${municipioIds()})`): Promise<void> {
    const res = await db.client.query(
      `INSERT INTO ${q(table)} SELECT (jsonb_populate_record(NULL::${q(table)}, to_jsonb(r) || $1::jsonb)).* FROM ${q(table)} r WHERE ${where} LIMIT 1`,
      [JSON.stringify(overrides)],
    );
    expect(res.rowCount).toBe(1);
  }

  beforeAll(async () => {
    db = await seedSource('guarantees', 301, [CAMPINAS]);
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it("one snapshot per extraction: writes committed between two tables' COPY do not show up; a later extraction sees them", async () => {
    const EQUIPE = 990_001;
    const ATD = 9_100_001;
    const [victim] = (
      await db.client.query<{ id: string }>(
        `SELECT co_seq_fat_vacinacao_vacina::text AS id FROM tb_fat_vacinacao_vacina WHERE co_dim_municipio IN (${municipioIds()}) AND co_dim_tempo >= 20260901 AND co_dim_tempo < 20261101 ORDER BY 1 LIMIT 1`,
      )
    ).rows;
    expect(victim).toBeDefined();
    const committedBeforeWrite: string[] = [];
    let wrote = false;
    const p = await testPipeline([{ db, municipalities: [CAMPINAS] }], {
      // Called as each staged object is committed: the first part of the first table is our moment,
      // after the extraction's snapshot is taken and before the later tables are read.
      storeBeforeCommit: async (key) => {
        if (wrote || !key.includes('/tables/')) return;
        wrote = true;
        committedBeforeWrite.push(key);
        await db.client.query('BEGIN');
        await insertCopy('tb_dim_equipe', { co_seq_dim_equipe: EQUIPE }, 'true');
        await insertCopy('tb_fat_atendimento_individual', { co_seq_fat_atd_ind: ATD, co_dim_tempo: 20261010 });
        await db.client.query('DELETE FROM tb_fat_vacinacao_vacina WHERE co_seq_fat_vacinacao_vacina = $1', [victim!.id]);
        await db.client.query('COMMIT');
      },
    });
    const present = async () => ({
      equipe: Number((await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.tb_dim_equipe WHERE co_seq_dim_equipe = ${EQUIPE}`))[0]!.n),
      atd: Number((await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.tb_fat_atendimento_individual WHERE co_seq_fat_atd_ind = ${ATD}`))[0]!.n),
      victim: Number((await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.tb_fat_vacinacao_vacina WHERE co_seq_fat_vacinacao_vacina = ${victim!.id}`))[0]!.n),
    });
    try {
      const run = await p.runOnce(REQUEST);
      expect(run.extracted).toEqual([CAMPINAS.ibge]);
      // The write happened, and before any part of the three tables it touched was staged.
      expect(wrote).toBe(true);
      expect(committedBeforeWrite.filter((k) => /\/tables\/(tb_dim_equipe|tb_fat_atendimento_individual|tb_fat_vacinacao_vacina)\//.test(k))).toEqual([]);
      // The extraction shows the source as it was at its snapshot: no inserted row, the deleted one still there.
      expect(await present()).toEqual({ equipe: 0, atd: 0, victim: 1 });

      // Control: the rows are extractable — the next extraction (a new snapshot) sees the writes.
      const rerun = await p.runOnce({ trigger: 'rerun', municipalities: [CAMPINAS.ibge], ...REQUEST });
      expect(rerun.extracted).toEqual([CAMPINAS.ibge]);
      expect(await present()).toEqual({ equipe: 1, atd: 1, victim: 0 });
    } finally {
      await p.dispose();
    }
  });

  it("half-open windows: rows on a window's first and last days land in exactly one slice; re-running the older window keeps the next window's first day", async () => {
    const A = { start: '2026-10-01', end: '2026-10-15' };
    const B = { start: '2026-10-15', end: '2026-11-01' };
    // Marker rows on the four boundary days (first/last of A, first/last of B), and just outside both.
    const markers: Record<string, number> = { 20260930: 9_200_000, 20261001: 9_200_001, 20261014: 9_200_014, 20261015: 9_200_015, 20261031: 9_200_031, 20261101: 9_200_101 };
    for (const [day, id] of Object.entries(markers)) await insertCopy('tb_fat_atendimento_individual', { co_seq_fat_atd_ind: id, co_dim_tempo: Number(day) });

    const p = await testPipeline([{ db, municipalities: [CAMPINAS] }]);
    /** day → the run ids that loaded a marker row of that day (one entry per landed row). */
    const landed = async (): Promise<Record<string, string[]>> => {
      const rows = await p.warehouse.query(
        `SELECT co_dim_tempo::VARCHAR AS day, _run_id AS run FROM raw.tb_fat_atendimento_individual WHERE co_seq_fat_atd_ind IN (${Object.values(markers).join(', ')}) ORDER BY 1, 2`,
      );
      const out: Record<string, string[]> = {};
      for (const r of rows) (out[String(r.day)] ??= []).push(String(r.run));
      return out;
    };
    try {
      const runA = await p.runOnce({ runDate: '2026-10-15', window: A });
      const runB = await p.runOnce({ runDate: '2026-11-01', window: B });
      expect([runA.extracted, runB.extracted]).toEqual([[CAMPINAS.ibge], [CAMPINAS.ibge]]);
      expect(runA.runId).not.toBe(runB.runId);
      expect(await landed()).toEqual({
        20261001: [runA.runId],
        20261014: [runA.runId],
        20261015: [runB.runId],
        20261031: [runB.runId],
      });

      // A newer extraction of the OLDER window replaces A's slice only: the 15th (B's first day) stays B's.
      const rerunA = await p.runOnce({ trigger: 'rerun', municipalities: [CAMPINAS.ibge], runDate: '2026-10-15', window: A });
      expect(rerunA.extracted).toEqual([CAMPINAS.ibge]);
      expect(await landed()).toEqual({
        20261001: [rerunA.runId],
        20261014: [rerunA.runId],
        20261015: [runB.runId],
        20261031: [runB.runId],
      });
    } finally {
      await p.dispose();
    }
  });

  /**
   * Personal identifiers per table, written from the PEC schema (docs: CPF, CNS, names of citizen,
   * mother and professional, phones, e-mail, prontuário, location). Birth dates and micro-area are
   * kept on purpose (indicators need them; restricted by policy tag) and are not in this list.
   */
  const PERSONAL: Record<string, string[]> = {
    tb_dim_profissional: ['nu_cns', 'no_profissional'],
    tb_fat_cidadao_pec: ['nu_cns', 'nu_cpf_cidadao', 'no_cidadao', 'no_social_cidadao', 'nu_telefone_celular'],
    tb_fat_cad_individual: ['nu_cns', 'nu_cpf_cidadao', 'no_nome', 'no_nome_mae', 'nu_celular', 'no_email'],
    tb_fat_atendimento_individual: ['nu_cns', 'nu_cpf_cidadao', 'nu_prontuario'],
    tb_fat_atendimento_odonto: ['nu_cns', 'nu_cpf_cidadao'],
    tb_fat_proced_atend_proced: ['nu_cns'],
    tb_fat_visita_domiciliar: ['nu_cns', 'nu_latitude', 'nu_longitude'],
    tb_fat_vacinacao: ['nu_cns', 'nu_cpf_cidadao'],
  };
  /** Column names that look personal (to keep the list above complete as the source grows). */
  const LOOKS_PERSONAL =
    /cpf|(^|_)cns($|_)|(^|_)nis($|_)|no_nome|no_cidadao|no_social|no_profissional|no_mae|no_pai|telefone|celular|email|prontuario|latitude|longitude|logradouro|endereco|(^|_)cep($|_)/;
  const KEPT_BY_POLICY = new Set(['dt_nascimento', 'co_dim_tempo_nascimento', 'nu_micro_area']);

  it('no clear-text personal identifier lands (hand-written list): each such column is absent or holds only HMAC pseudonyms of the source value', async () => {
    // The list covers every personal-looking column the source has, and names only columns that exist.
    const sourceColumns = (
      await db.client.query<{ t: string; c: string }>(
        `SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = 'public' AND table_name LIKE 'tb\\_%' ORDER BY 1, 2`,
      )
    ).rows;
    const looksPersonal = sourceColumns.filter((r) => LOOKS_PERSONAL.test(r.c) && !KEPT_BY_POLICY.has(r.c)).map((r) => `${r.t}.${r.c}`);
    const listed = Object.entries(PERSONAL).flatMap(([t, cs]) => cs.map((c) => `${t}.${c}`));
    expect(looksPersonal.filter((c) => !listed.includes(c))).toEqual([]);
    expect(listed.filter((c) => !sourceColumns.some((r) => `${r.t}.${r.c}` === c))).toEqual([]);

    const p = await testPipeline([{ db, municipalities: [CAMPINAS] }]);
    try {
      const run = await p.runOnce(REQUEST);
      expect(run.extracted).toEqual([CAMPINAS.ibge]);
      const pseudonym = (v: string) => Pseudonymizer.reference(TEST_KEY, v);
      let checkedValues = 0;
      for (const [table, columns] of Object.entries(PERSONAL)) {
        const landedColumns = new Set(
          (await p.warehouse.query(`SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = $1`, [table])).map((r) => String(r.c)),
        );
        expect(landedColumns.size).toBeGreaterThan(0);
        const landedRows = await p.warehouse.query(`SELECT * FROM raw.${q(table)}`);
        expect(landedRows.length).toBeGreaterThan(0);
        const landedText = landedRows.map((r) => Object.values(r).map(String).join('\u0001')).join('\n');
        for (const column of columns) {
          const clear = (await db.client.query<{ v: string }>(`SELECT DISTINCT ${q(column)}::text AS v FROM ${q(table)} WHERE ${q(column)} IS NOT NULL`)).rows.map((r) => r.v);
          expect(clear.length).toBeGreaterThan(0); // a column with no data would prove nothing
          // No clear value anywhere in the landed table, in any column (long enough not to match by accident).
          const leaked = clear.filter((v) => v.trim().length >= 6 && landedText.includes(v.trim()));
          expect({ table, column, leaked: leaked.length }).toEqual({ table, column, leaked: 0 });
          if (!landedColumns.has(column)) continue; // dropped: fine
          // Present: only keyed pseudonyms, each the HMAC of a value the source holds.
          const values = (await p.warehouse.query(`SELECT DISTINCT ${q(column)}::VARCHAR AS v FROM raw.${q(table)} WHERE ${q(column)} IS NOT NULL`)).map((r) => String(r.v));
          const expected = new Set(clear.map(pseudonym));
          expect({ table, column, notPseudonyms: values.filter((v) => !expected.has(v)).length }).toEqual({ table, column, notPseudonyms: 0 });
          checkedValues += values.length;
        }
      }
      expect(checkedValues).toBeGreaterThan(100);
    } finally {
      await p.dispose();
    }
  });
});
