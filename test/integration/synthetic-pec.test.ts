import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { copyText } from '../../scripts/synthetic-pec/copy';
import { isValidCns, isValidCpf, makeCpf, makeDefinitiveCns, makeProvisionalCns } from '../../scripts/synthetic-pec/documents';
import { seedPec, SeedOptions, type SeedSummary } from '../../scripts/synthetic-pec/generate';
import { Rng } from '../../scripts/synthetic-pec/prng';
import { pecSchemaSql, pecTables, readOnlyRoleSql } from '../../scripts/synthetic-pec/schema';
import { UNUSUAL_LOT_NUMBERS } from '../../scripts/synthetic-pec/vocab';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../support/pg';

const SAO_PAULO = { ibge: '3550308', name: 'São Paulo', uf: 'SP' };
const RIO = { ibge: '3304557', name: 'Rio de Janeiro', uf: 'RJ' };
const BASE = { seed: 42, municipalities: [SAO_PAULO, RIO], citizens: 400 } satisfies SeedOptions;

const stable = (s: SeedSummary) => ({ ...s, durationMs: 0, rowsPerSecond: 0, timingsMs: {} });

async function rows<T>(c: Client, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await c.query(sql, params)).rows as T[];
}
async function one<T>(c: Client, sql: string, params: unknown[] = []): Promise<T> {
  return (await rows<T>(c, sql, params))[0]!;
}

/** One digest per table: equal digests mean byte-identical content. */
async function tableDigests(c: Client): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of pecTables('5.5')) {
    const pk = t.primaryKey[0]!;
    const r = await one<{ d: string | null }>(c, `SELECT md5(string_agg(t::text, '|' ORDER BY t.${pk})) AS d FROM public.${t.name} t`);
    out[t.name] = r.d ?? 'empty';
  }
  return out;
}

describe('synthetic PEC documents', () => {
  it('accepts generated CPFs and CNSs and rejects broken ones', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 2000; i++) {
      const cpf = makeCpf(rng);
      const definitive = makeDefinitiveCns(rng);
      const provisional = makeProvisionalCns(rng);
      expect(isValidCpf(cpf)).toBe(true);
      expect(isValidCns(definitive)).toBe(true);
      expect(isValidCns(provisional)).toBe(true);
      expect(definitive).toMatch(/^[12]\d{14}$/);
      expect(provisional).toMatch(/^[789]\d{14}$/);
      // Independent rule every valid CNS satisfies: Σ digit × (15 − position) ≡ 0 (mod 11).
      for (const cns of [definitive, provisional]) expect([...cns].reduce((s, d, k) => s + Number(d) * (15 - k), 0) % 11).toBe(0);
      const flipped = cpf.slice(0, 10) + ((Number(cpf[10]) + 1) % 10);
      expect(isValidCpf(flipped)).toBe(false);
      expect(isValidCns(provisional.slice(0, 14) + ((Number(provisional[14]) + 1) % 10))).toBe(false);
    }
    expect(isValidCpf('52998224725')).toBe(true);
    expect(isValidCpf('52998224724')).toBe(false);
    expect(isValidCpf('11111111111')).toBe(false);
    expect(isValidCpf('5299822472')).toBe(false);
    expect(isValidCns('300000000000000')).toBe(false);
  });

  it('escapes COPY text-format specials', () => {
    expect(copyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyText(null)).toBe('\\N');
    expect(copyText('JOÃO "D\'ÁVILA"; ç')).toBe('JOÃO "D\'ÁVILA"; ç');
  });
});

describe('synthetic PEC schema', () => {
  it('covers every registry table and column, in 9.6-compatible DDL', () => {
    const ddl = pecSchemaSql('5.5');
    expect(ddl).not.toMatch(/GENERATED|IDENTITY|sha256|PROCEDURE|IF NOT EXISTS/i);
    const tables = new Map(pecTables('5.5').map((t) => [t.name, t]));
    for (const t of PEC_TABLES) {
      const physical = tables.get(t.name);
      expect(physical).toBeDefined();
      for (const c of t.columns) expect(physical!.columns.map((x) => x.name)).toContain(c.name);
    }
    for (const t of tables.values()) if (t.name.startsWith('tb_dim_')) expect(t.columns.map((c) => c.name)).toContain('ds_filtro');
  });

  it('names the drifted columns the 5.2 way in 5.2', () => {
    const atd = pecTables('5.2')
      .find((t) => t.name === 'tb_fat_atendimento_individual')!
      .columns.map((c) => c.name);
    expect(atd).toEqual(expect.arrayContaining(['nu_medicao_pressao_sistolica', 'nu_medicao_pressao_diastolica', 'nu_idade_gestacional']));
    expect(atd).not.toContain('nu_pressao_sistolica');
    expect(atd).not.toContain('nu_pressao_diastolica');
    expect(atd).not.toContain('nu_idade_gestacional_semanas');
  });

  it('quotes role, database and password in the read-only role script', () => {
    const sql = readOnlyRoleSql('leitura"x', "pa'ss\\word", 'db"1');
    expect(sql).toContain(`"leitura""x"`);
    expect(sql).toContain(`"db""1"`);
    expect(sql).toContain(`E'pa''ss\\\\word'`);
    expect(sql).toContain('default_transaction_read_only = on');
  });

  it('rejects inconsistent options with a clear message', () => {
    const r = SeedOptions.safeParse({ seed: 1, municipalities: [{ ...SAO_PAULO, uf: 'RJ' }] });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('belongs to state code 35');
    expect(SeedOptions.safeParse({ seed: 1, municipalities: [SAO_PAULO, SAO_PAULO] }).success).toBe(false);
    expect(SeedOptions.safeParse({ seed: 1, municipalities: [{ ...SAO_PAULO, ibge: '3550309' }] }).success).toBe(false);
  });
});

describe('synthetic PEC database', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  let other: TestDatabase;
  let v52: TestDatabase;
  let only: TestDatabase;
  let summaryA: SeedSummary;
  let summaryB: SeedSummary;
  let summary52: SeedSummary;
  let summaryOnly: SeedSummary;
  const role = `synthetic_ro_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    a = await createTestDatabase('synth_a', async (c) => void (summaryA = await seedPec(c, BASE)));
    b = await createTestDatabase('synth_b', async (c) => void (summaryB = await seedPec(c, BASE)));
    other = await createTestDatabase('synth_other', async (c) => void (await seedPec(c, { ...BASE, seed: 43 })));
    v52 = await createTestDatabase('synth_52', async (c) => void (summary52 = await seedPec(c, { seed: 5, municipalities: [RIO], citizens: 300, pecVersion: '5.2' })));
    only = await createTestDatabase('synth_only', async (c) => {
      summaryOnly = await seedPec(c, { seed: 9, municipalities: [SAO_PAULO, RIO], citizens: 200, onlyTable: { name: 'tb_fat_atendimento_individual', rows: 5000 } });
    });
  }, 240_000);

  afterAll(async () => {
    for (const db of [a, b, other, v52, only]) await db?.drop();
    const admin = new Client({ connectionString: testServerUrl() });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('is deterministic: the same seed gives byte-identical tables, another seed different ones', async () => {
    const [da, db, dother] = await Promise.all([tableDigests(a.client), tableDigests(b.client), tableDigests(other.client)]);
    expect(db).toEqual(da);
    expect(stable(summaryB)).toEqual(stable(summaryA));
    expect(dother.tb_fat_cidadao_pec).not.toEqual(da.tb_fat_cidadao_pec);
    expect(dother.tb_fat_atendimento_individual).not.toEqual(da.tb_fat_atendimento_individual);
  });

  it('reports the row counts it wrote, per table and per municipality', async () => {
    for (const [table, n] of Object.entries(summaryA.rowsPerTable)) {
      const r = await one<{ n: number }>(a.client, `SELECT count(*)::int AS n FROM public.${table}`);
      expect({ table, n: r.n }).toEqual({ table, n });
    }
    for (const m of summaryA.municipalities) {
      for (const [table, n] of Object.entries(m.rowsPerTable)) {
        const r = await one<{ n: number }>(a.client, `SELECT count(*)::int AS n FROM public.${table} WHERE co_dim_municipio = ANY($1::bigint[])`, [m.municipioIds]);
        expect({ table, ibge: m.ibge, n: r.n }).toEqual({ table, ibge: m.ibge, n });
      }
    }
    expect(summaryA.rowsPerTable.tb_fat_atendimento_individual).toBeGreaterThan(1000);
  });

  it('holds two municipalities in one installation, each with facts in every fact table', async () => {
    const ids = summaryA.municipalities.map((m) => m.municipioIds);
    expect(ids.flat()).toHaveLength(2);
    const dims = await rows<{ co_seq_dim_municipio: string; co_ibge: string }>(a.client, `SELECT co_seq_dim_municipio, co_ibge FROM tb_dim_municipio WHERE co_ibge = ANY($1)`, [
      [SAO_PAULO.ibge, RIO.ibge],
    ]);
    expect(dims.map((d) => [d.co_ibge, Number(d.co_seq_dim_municipio)]).sort()).toEqual(summaryA.municipalities.map((m) => [m.ibge, m.municipioIds[0]]).sort());
    for (const t of pecTables('5.5').filter((x) => x.kind === 'fact')) {
      const counts = await rows<{ m: string; n: number }>(a.client, `SELECT co_dim_municipio AS m, count(*)::int AS n FROM ${t.name} GROUP BY 1 ORDER BY 1`);
      expect({ table: t.name, municipalities: counts.map((c) => Number(c.m)) }).toEqual({ table: t.name, municipalities: ids.flat().sort((x, y) => x - y) });
    }
  });

  it('follows the PEC dimension conventions: sentinel 1, retired rows, 30001231, ds_filtro', async () => {
    for (const t of pecTables('5.5').filter((x) => x.kind === 'dimension' && x.name.startsWith('tb_dim_') && x.name !== 'tb_dim_tempo')) {
      const r = await one<{ row: string } | undefined>(a.client, `SELECT t::text AS row FROM ${t.name} t WHERE ${t.primaryKey[0]} = 1`);
      expect({ table: t.name, sentinel: r?.row.includes('Não informado') }).toEqual({ table: t.name, sentinel: true });
    }
    const unknown = await one<{ nu_ano: number }>(a.client, `SELECT nu_ano FROM tb_dim_tempo WHERE co_seq_dim_tempo = 30001231`);
    expect(unknown.nu_ano).toBe(3000);
    for (const t of ['tb_dim_unidade_saude', 'tb_dim_equipe', 'tb_dim_profissional', 'tb_dim_municipio', 'tb_dim_cid']) {
      const r = await one<{ n: number }>(a.client, `SELECT count(*)::int AS n FROM ${t} WHERE st_registro_valido = 0`);
      expect({ t, retired: r.n > 0 }).toEqual({ t, retired: true });
    }
    const cbos = await rows<{ nu_cbo: string }>(a.client, `SELECT nu_cbo FROM tb_dim_cbo WHERE nu_cbo ~ '[A-Z]'`);
    expect(cbos.length).toBeGreaterThan(0);
    const codes = await one<{ cnes: number; ine: number }>(
      a.client,
      `SELECT (SELECT count(*) FROM tb_dim_unidade_saude WHERE co_seq_dim_unidade_saude > 1 AND nu_cnes !~ '^\\d{7}$')::int AS cnes,
              (SELECT count(*) FROM tb_dim_equipe WHERE co_seq_dim_equipe > 1 AND nu_ine !~ '^\\d{10}$')::int AS ine`,
    );
    expect(codes).toEqual({ cnes: 0, ine: 0 });
  });

  it('plants the team types in the transactional tables: mostly eSF (70), every fourth active team eAP (76), the retired one 49, one eMulti (72)', async () => {
    const types = await rows<{ nu_ms: string; sg: string; teams: number; citizens: number }>(
      a.client,
      `SELECT tt.nu_ms, tt.sg_tipo_equipe AS sg, count(DISTINCT d.co_seq_dim_equipe)::int AS teams,
              (SELECT count(*) FROM tb_fat_cidadao_pec c WHERE c.co_dim_equipe_vinc IN (
                 SELECT d2.co_seq_dim_equipe FROM tb_dim_equipe d2 JOIN tb_equipe e2 ON e2.nu_ine = d2.nu_ine WHERE e2.tp_equipe = tt.co_seq_tipo_equipe))::int AS citizens
         FROM tb_equipe e JOIN tb_tipo_equipe tt ON tt.co_seq_tipo_equipe = e.tp_equipe JOIN tb_dim_equipe d ON d.nu_ine = e.nu_ine
        GROUP BY tt.co_seq_tipo_equipe, tt.nu_ms, tt.sg_tipo_equipe ORDER BY 1`,
    );
    const active = await one<{ n: number }>(a.client, `SELECT count(*)::int AS n FROM tb_dim_equipe WHERE co_seq_dim_equipe > 1 AND st_registro_valido = 1`);
    // Two municipalities, one retired team each; the planted cohort's teams are always eSF.
    const retired = 2;
    const eap = types.find((t) => t.nu_ms === '76')!.teams;
    expect(types.map((t) => [t.nu_ms, t.sg])).toEqual([
      ['49', 'EAP'],
      ['70', 'ESF'],
      ['72', 'EMULTI'],
      ['76', 'EAP'],
    ]);
    expect(types.find((t) => t.nu_ms === '49')).toMatchObject({ teams: retired, citizens: 0 });
    // The planted change to eMulti (below) is today's type of one team.
    expect(types.find((t) => t.nu_ms === '72')!.teams).toBe(1);
    expect(types.find((t) => t.nu_ms === '70')!.teams + 1 + eap).toBe(active.n);
    expect(eap).toBeGreaterThan(0);
    expect(types.find((t) => t.nu_ms === '76')!.citizens).toBeGreaterThan(0);
    // Every team of the DW but the sentinel has a type; one INE has two rows of the same type.
    const rowsPerIne = await rows<{ n: number }>(a.client, `SELECT count(*)::int AS n FROM tb_equipe GROUP BY nu_ine HAVING count(*) > 1`);
    expect(rowsPerIne).toEqual([{ n: 2 }]);
  });

  it('records the team history in ta_equipe: an insertion and an update per team row on the first day, and the two planted changes of type', async () => {
    const start = summaryA.historyStart;
    const audit = await rows<{ kind: string; day: string; n: number }>(
      a.client,
      `SELECT co_tipo_auditoria AS kind, to_char(dt_auditoria, 'YYYY-MM-DD') AS day, count(*)::int AS n FROM ta_equipe GROUP BY 1, 2 ORDER BY 2, 1`,
    );
    const teamRows = await one<{ n: number }>(a.client, `SELECT count(*)::int AS n FROM tb_equipe`);
    const [esfToEmulti, eapToEsf] = summaryA.teamTypeChanges;
    expect(summaryA.teamTypeChanges.map((c) => [c.from, c.to])).toEqual([
      ['70', '72'],
      ['76', '70'],
    ]);
    expect(eapToEsf!.day < esfToEmulti!.day).toBe(true);
    const dayAfter = new Date(Date.parse(`${start}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    expect(audit).toEqual([
      { kind: 'I', day: start, n: teamRows.n },
      { kind: 'U', day: dayAfter, n: teamRows.n },
      { kind: 'U', day: eapToEsf!.day, n: 1 },
      { kind: 'U', day: esfToEmulti!.day, n: 1 },
    ]);
    // Each change's last audited state is today's row in tb_equipe (the marts read the history; dim_team the row).
    for (const c of summaryA.teamTypeChanges) {
      const last = await one<{ then: string; now: string }>(
        a.client,
        `SELECT (SELECT tt.nu_ms FROM ta_equipe x JOIN tb_tipo_equipe tt ON tt.co_seq_tipo_equipe = x.tp_equipe WHERE x.nu_ine = $1 ORDER BY x.dt_auditoria DESC LIMIT 1) AS then,
                (SELECT tt.nu_ms FROM tb_equipe e JOIN tb_tipo_equipe tt ON tt.co_seq_tipo_equipe = e.tp_equipe WHERE e.nu_ine = $1) AS now`,
        [c.ine],
      );
      expect(last).toEqual({ then: c.to, now: c.to });
    }
  });

  it('points facts at dimension rows, never at NULL, and keys every event date in tb_dim_tempo', async () => {
    const columns = await rows<{ table_name: string; column_name: string }>(
      a.client,
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name LIKE 'tb_fat_%' AND column_name LIKE 'co_dim_%'`,
    );
    expect(columns.length).toBeGreaterThan(40);
    for (const { table_name, column_name } of columns) {
      const r = await one<{ n: number }>(a.client, `SELECT count(*)::int AS n FROM ${table_name} WHERE ${column_name} IS NULL`);
      expect({ table_name, column_name, nulls: r.n }).toEqual({ table_name, column_name, nulls: 0 });
    }
    for (const t of pecTables('5.5').filter((x) => x.kind === 'fact' && x.columns.some((c) => c.name === 'co_dim_tempo'))) {
      const r = await one<{ n: number }>(
        a.client,
        `SELECT count(*)::int AS n FROM ${t.name} f LEFT JOIN tb_dim_tempo d ON d.co_seq_dim_tempo = f.co_dim_tempo WHERE d.co_seq_dim_tempo IS NULL`,
      );
      expect({ table: t.name, orphans: r.n }).toEqual({ table: t.name, orphans: 0 });
      const range = await one<{ lo: string; hi: string }>(a.client, `SELECT min(co_dim_tempo) AS lo, max(co_dim_tempo) AS hi FROM ${t.name}`);
      expect(Number(range.lo)).toBeGreaterThanOrEqual(Number(summaryA.historyStart.replaceAll('-', '')));
      expect(Number(range.hi)).toBeLessThanOrEqual(20261121);
    }
    const dum = await one<{ unknown: number; known: number }>(
      a.client,
      `SELECT count(*) FILTER (WHERE co_dim_tempo_dum = 30001231 AND nu_idade_gestacional_semanas IS NULL)::int AS unknown,
              count(*) FILTER (WHERE co_dim_tempo_dum <> 30001231 AND nu_idade_gestacional_semanas BETWEEN 4 AND 42)::int AS known
         FROM tb_fat_atendimento_individual`,
    );
    expect(dum.unknown).toBeGreaterThan(0);
    expect(dum.known).toBeGreaterThan(0);
    const second = await one<{ share: number }>(a.client, `SELECT avg((co_dim_profissional_2 = 1)::int)::float AS share FROM tb_fat_atendimento_individual`);
    expect(second.share).toBeGreaterThan(0.97);
    expect(second.share).toBeLessThan(1);
  });

  it('writes realistic identifiers: valid CPF and CNS, some NULL CPFs, CBO with letters', async () => {
    const docs = await rows<{ cpf: string | null; cns: string | null }>(
      a.client,
      `SELECT nu_cpf_cidadao AS cpf, nu_cns AS cns FROM tb_fat_cidadao_pec
       UNION ALL SELECT nu_cpf_cidadao, nu_cns FROM tb_fat_cad_individual
       UNION ALL SELECT NULL, nu_cns FROM tb_dim_profissional WHERE co_seq_dim_profissional > 1`,
    );
    expect(docs.filter((d) => d.cpf !== null && !isValidCpf(d.cpf))).toEqual([]);
    expect(docs.filter((d) => d.cns !== null && !isValidCns(d.cns))).toEqual([]);
    expect(docs.filter((d) => d.cpf === null).length).toBeGreaterThan(0);
    expect(docs.filter((d) => d.cpf === null && d.cns === null)).toHaveLength(0);
    const phones = await one<{ n: number }>(a.client, `SELECT count(*)::int AS n FROM tb_fat_cidadao_pec WHERE nu_telefone_celular ~ '^\\d{2}9\\d{8}$'`);
    expect(phones.n).toBeGreaterThan(100);
  });

  it('has Portuguese text and COPY-hostile characters, round-tripped exactly', async () => {
    const accents = await one<{ n: number }>(a.client, `SELECT count(*)::int AS n FROM tb_fat_cidadao_pec WHERE no_cidadao ~ '[ÃÇÉÍÓÔÂÁÚ]' OR no_cidadao ~ '[ãçéíóôâáú]'`);
    expect(accents.n).toBeGreaterThan(50);
    const units = await rows<{ no_unidade_saude: string }>(a.client, `SELECT no_unidade_saude FROM tb_dim_unidade_saude`);
    const unitNames = units.map((u) => u.no_unidade_saude);
    expect(unitNames).toContain('UBS "Vila Nova"; Centro');
    expect(unitNames.some((n) => n.includes('\n'))).toBe(true);
    const odd = await rows<{ no_lote: string }>(a.client, `SELECT DISTINCT no_lote FROM tb_fat_vacinacao_vacina WHERE no_lote ~ '[\\n\\r\\t\\\\";'']'`);
    expect(odd.length).toBeGreaterThan(0);
    // Lot numbers with COPY-special characters must arrive byte for byte.
    for (const { no_lote } of odd) expect(UNUSUAL_LOT_NUMBERS).toContain(no_lote);
    expect(odd.some((l) => l.no_lote.includes('\n'))).toBe(true);
  });

  it('models citizens: versioned registrations, duplicates, consistent birth dates', async () => {
    const versions = await one<{ multi: number; wrong_origin: number }>(
      a.client,
      `WITH firsts AS (SELECT DISTINCT ON (co_fat_cidadao_pec) co_fat_cidadao_pec, nu_uuid_ficha FROM tb_fat_cad_individual ORDER BY co_fat_cidadao_pec, co_seq_fat_cad_individual)
       SELECT (SELECT count(*) FROM (SELECT 1 FROM tb_fat_cad_individual GROUP BY co_fat_cidadao_pec HAVING count(*) > 1) m)::int AS multi,
              (SELECT count(*) FROM tb_fat_cad_individual c JOIN firsts f USING (co_fat_cidadao_pec) WHERE c.nu_uuid_ficha_origem <> f.nu_uuid_ficha)::int AS wrong_origin`,
    );
    expect(versions.multi).toBeGreaterThan(100);
    expect(versions.wrong_origin).toBe(0);
    const dup = await one<{ groups: number }>(
      a.client,
      `SELECT count(*)::int AS groups FROM (SELECT 1 FROM tb_fat_cidadao_pec GROUP BY co_dim_municipio, no_cidadao, co_dim_tempo_nascimento HAVING count(*) > 1) d`,
    );
    expect(dup.groups).toBeGreaterThanOrEqual(4);
    expect(dup.groups).toBeLessThan(40);
    const birth = await one<{ mismatched: number }>(
      a.client,
      `SELECT count(*)::int AS mismatched FROM tb_fat_cad_individual c JOIN tb_fat_cidadao_pec p ON p.co_seq_fat_cidadao_pec = c.co_fat_cidadao_pec
        WHERE to_char(c.dt_nascimento, 'YYYYMMDD')::bigint <> p.co_dim_tempo_nascimento`,
    );
    expect(birth.mismatched).toBe(0);
    const times = await one<{ bad: number }>(
      a.client,
      `SELECT count(*)::int AS bad FROM tb_fat_atendimento_individual
        WHERE dt_final_atendimento <= dt_inicial_atendimento OR to_char(dt_inicial_atendimento, 'YYYYMMDD')::bigint <> co_dim_tempo`,
    );
    expect(times.bad).toBe(0);
  });

  it('gives the indicators something to find', async () => {
    const adults = await one<{ hypertension: number; diabetes: number }>(
      a.client,
      `SELECT avg(h)::float AS hypertension, avg(d)::float AS diabetes FROM (
         SELECT max(st_hipertensao_arterial) AS h, max(st_diabete) AS d FROM tb_fat_cad_individual
          WHERE dt_nascimento <= DATE '2026-11-21' - INTERVAL '18 years' GROUP BY co_fat_cidadao_pec) x`,
    );
    expect(adults.hypertension).toBeGreaterThan(0.15);
    expect(adults.hypertension).toBeLessThan(0.35);
    expect(adults.diabetes).toBeGreaterThan(0.04);
    expect(adults.diabetes).toBeLessThan(0.15);

    const filters = await one<Record<string, number>>(
      a.client,
      `SELECT count(*) FILTER (WHERE ds_filtro_ciaps LIKE '%|K86|%')::int AS k86, count(*) FILTER (WHERE ds_filtro_cids LIKE '%|I10|%')::int AS i10,
              count(*) FILTER (WHERE ds_filtro_ciaps LIKE '%|T90|%')::int AS t90, count(*) FILTER (WHERE ds_filtro_ciaps LIKE '%|W78|%')::int AS w78,
              count(*) FILTER (WHERE ds_filtro_proced_solicitados LIKE '%|0202010503|%' OR ds_filtro_proced_solicitados LIKE '%|ABEX008|%')::int AS hba1c,
              count(*) FILTER (WHERE ds_filtro_ciaps !~ '^\\|([A-Z0-9]+\\|)+$' OR ds_filtro_cids !~ '^\\|([A-Z0-9]+\\|)+$')::int AS malformed
         FROM tb_fat_atendimento_individual`,
    );
    expect(filters).toEqual(expect.objectContaining({ malformed: 0 }));
    for (const k of ['k86', 'i10', 't90', 'w78', 'hba1c']) expect({ k, found: filters[k]! > 0 }).toEqual({ k, found: true });

    // Most hypertension consultations come with a blood-pressure measurement the same day.
    const bp = await one<{ share: number }>(
      a.client,
      `SELECT avg((EXISTS (SELECT 1 FROM tb_fat_proced_atend_proced p JOIN tb_dim_procedimento d ON d.co_seq_dim_procedimento = p.co_dim_procedimento
                           WHERE p.co_fat_cidadao_pec = a.co_fat_cidadao_pec AND p.co_dim_tempo = a.co_dim_tempo AND d.co_proced IN ('0301100039', 'ABPG033')))::int)::float AS share
         FROM tb_fat_atendimento_individual a WHERE a.ds_filtro_ciaps ~ '\\|K8[67]\\|' OR a.ds_filtro_cids ~ '\\|I1[0-5]'`,
    );
    expect(bp.share).toBeGreaterThan(0.6);
    const hba1c = await one<{ n: number }>(
      a.client,
      `SELECT count(*)::int AS n FROM tb_fat_atd_ind_procedimentos p JOIN tb_dim_procedimento d ON d.co_seq_dim_procedimento = p.co_dim_procedimento_solicitado
        WHERE d.co_proced IN ('0202010503', 'ABEX008')`,
    );
    expect(hba1c.n).toBeGreaterThan(20);
    const cytology = await one<{ n: number; outside: number }>(
      a.client,
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE c.co_dim_sexo <> 3 OR c.co_dim_tempo_nascimento > 20011121 OR c.co_dim_tempo_nascimento < 19611121)::int AS outside
         FROM tb_fat_proced_atend_proced p JOIN tb_dim_procedimento d ON d.co_seq_dim_procedimento = p.co_dim_procedimento
         JOIN tb_fat_cidadao_pec c ON c.co_seq_fat_cidadao_pec = p.co_fat_cidadao_pec
        WHERE d.co_proced IN ('0201020033', 'ABPG010')`,
    );
    expect(cytology.n).toBeGreaterThan(10);
    expect(cytology.outside).toBe(0);
    const penta = await one<{ n: number; orphans: number }>(
      a.client,
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM tb_fat_vacinacao h WHERE h.co_seq_fat_vacinacao = v.co_fat_vacinacao AND h.co_fat_cidadao_pec = v.co_fat_cidadao_pec))::int AS orphans
         FROM tb_fat_vacinacao_vacina v JOIN tb_dim_imunobiologico i ON i.co_seq_dim_imunobiologico = v.co_dim_imunobiologico WHERE i.nu_identificador = '42'`,
    );
    expect(penta.n).toBeGreaterThan(0);
    expect(penta.orphans).toBe(0);
  });

  it('has PostgreSQL types, keys, indexes and DW metadata like a PEC', async () => {
    const types = await rows<{ column_name: string; data_type: string }>(
      a.client,
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'tb_fat_atendimento_individual'
        AND column_name IN ('co_seq_fat_atd_ind', 'nu_peso', 'nu_pressao_sistolica', 'dt_inicial_atendimento', 'nu_idade_gestacional_semanas', 'nu_cns') ORDER BY 1`,
    );
    expect(Object.fromEntries(types.map((t) => [t.column_name, t.data_type]))).toEqual({
      co_seq_fat_atd_ind: 'bigint',
      dt_inicial_atendimento: 'timestamp without time zone',
      nu_cns: 'text',
      nu_idade_gestacional_semanas: 'integer',
      nu_peso: 'double precision',
      nu_pressao_sistolica: 'numeric',
    });
    const fractional = await one<{ weight: number; bp: number }>(
      a.client,
      `SELECT count(*) FILTER (WHERE nu_peso <> trunc(nu_peso))::int AS weight, count(*) FILTER (WHERE nu_pressao_sistolica <> trunc(nu_pressao_sistolica))::int AS bp FROM tb_fat_atendimento_individual`,
    );
    expect(fractional.weight).toBeGreaterThan(0);
    expect(fractional.bp).toBeGreaterThan(0);
    const indexes = await rows<{ tablename: string; indexdef: string }>(a.client, `SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'`);
    for (const t of pecTables('5.5')) {
      expect(indexes.some((i) => i.tablename === t.name && i.indexdef.includes('UNIQUE') && i.indexdef.includes(`(${t.primaryKey[0]})`))).toBe(true);
      if (t.kind === 'fact' && t.name !== 'tb_fat_cidadao_pec')
        expect({ t: t.name, indexed: indexes.some((i) => i.tablename === t.name && i.indexdef.includes('(co_dim_municipio, co_dim_tempo)')) }).toEqual({
          t: t.name,
          indexed: true,
        });
    }
    const newest = await one<{ ds_filename: string }>(a.client, `SELECT ds_filename FROM tb_migracao ORDER BY dt_executado DESC, co_seq_migracao DESC LIMIT 1`);
    expect(newest.ds_filename).toMatch(/^db\/v5\.5\.\d+\/changelog-\d{3}\.xml$/);
    const processed = await one<{ t: string }>(a.client, `SELECT to_char(max(dt_processamento), 'YYYY-MM-DD HH24:MI:SS') AS t FROM tb_relatorio_processamento`);
    expect(processed.t).toBe('2026-11-21 03:00:00');
    expect(summaryA.dwProcessedAt).toBe('2026-11-21 03:00:00');
  });

  it('drifts column names in PEC 5.2 and fills them', async () => {
    const cols = (await rows<{ column_name: string }>(v52.client, `SELECT column_name FROM information_schema.columns WHERE table_name = 'tb_fat_atendimento_individual'`)).map(
      (c) => c.column_name,
    );
    expect(cols).toEqual(expect.arrayContaining(['nu_medicao_pressao_sistolica', 'nu_medicao_pressao_diastolica', 'nu_idade_gestacional']));
    for (const c of ['nu_pressao_sistolica', 'nu_pressao_diastolica', 'nu_idade_gestacional_semanas']) expect(cols).not.toContain(c);
    const filled = await one<{ n: number }>(v52.client, `SELECT count(nu_medicao_pressao_sistolica)::int AS n FROM tb_fat_atendimento_individual`);
    expect(filled.n).toBeGreaterThan(0);
    const newest = await one<{ ds_filename: string }>(v52.client, `SELECT ds_filename FROM tb_migracao ORDER BY dt_executado DESC, co_seq_migracao DESC LIMIT 1`);
    expect(newest.ds_filename).toMatch(/^db\/v5\.2\./);
    expect(summary52.pecVersion).toBe('5.2');
  });

  it('generates exactly N consultations and no other facts in onlyTable mode', async () => {
    const counts = await one<Record<string, number>>(
      only.client,
      `SELECT (SELECT count(*) FROM tb_fat_atendimento_individual)::int AS atd, (SELECT count(*) FROM tb_fat_cidadao_pec)::int AS citizens,
              (SELECT count(*) FROM tb_fat_atd_ind_problemas)::int AS problems, (SELECT count(*) FROM tb_fat_cad_individual)::int AS registrations,
              (SELECT count(DISTINCT co_dim_municipio) FROM tb_fat_atendimento_individual)::int AS municipalities`,
    );
    expect(counts).toEqual({ atd: 5000, citizens: 400, problems: 0, registrations: 0, municipalities: 2 });
    expect(summaryOnly.rowsPerTable.tb_fat_atendimento_individual).toBe(5000);
  });

  it('refuses to seed a database that already has tables', async () => {
    await expect(seedPec(a.client, BASE)).rejects.toThrow(/not empty/);
  });

  it('creates a read-only login role that can read everything and write nothing', async () => {
    const password = `p'w\\${randomBytes(6).toString('hex')}`;
    await a.client.query(readOnlyRoleSql(role, password, a.name));
    await a.client.query(readOnlyRoleSql(role, password, a.name)); // idempotent
    const url = new URL(testServerUrl(a.name));
    url.username = role;
    url.password = password;
    const reader = new Client({ connectionString: url.toString() });
    await reader.connect();
    try {
      const r = await one<{ n: number }>(reader, `SELECT count(*)::int AS n FROM tb_fat_atendimento_individual`);
      expect(r.n).toBe(summaryA.rowsPerTable.tb_fat_atendimento_individual);
      await expect(reader.query(`CREATE TABLE public.t (x int)`)).rejects.toMatchObject({ code: '25006' });
      await expect(reader.query(`UPDATE tb_dim_sexo SET ds_sexo = 'x'`)).rejects.toMatchObject({ code: '25006' });
    } finally {
      await reader.end();
    }
  });
});
