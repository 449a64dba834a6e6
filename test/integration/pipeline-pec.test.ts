import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { PSEUDONYM_PATTERN } from '../../shared/contracts/tables';
import { seedPec } from '../../scripts/synthetic-pec/generate';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { testPipeline } from '../support/local-pipeline';
import { fingerprint } from '../support/warehouse';

/**
 * The pipeline over synthetic PEC databases: one single-municipality PEC and one installation
 * holding two municipalities, through fan-out, extract and load handlers on the in-process bus.
 */
const CAMPINAS = { ibge: '3509502', name: 'Campinas', uf: 'SP' };
const CURITIBA = { ibge: '4106902', name: 'Curitiba', uf: 'PR' };
const PONTA_GROSSA = { ibge: '4119905', name: 'Ponta Grossa', uf: 'PR' };
const FULL_RUN_TIMEOUT_MS = 180_000;
const RUN_DATE = '2026-11-21';
const WINDOW = { start: '2025-09-01', end: '2026-11-22' }; // all of the synthetic history

describe('pipeline over synthetic PEC databases', () => {
  let single: TestDatabase;
  let shared: TestDatabase;
  beforeAll(async () => {
    single = await createTestDatabase('pec_single', (c) => seedPec(c, { seed: 11, municipalities: [CAMPINAS], citizens: 300, endDate: '2026-11-20' }).then(() => {}));
    shared = await createTestDatabase('pec_shared', (c) =>
      seedPec(c, { seed: 12, municipalities: [CURITIBA, PONTA_GROSSA], citizens: 200, endDate: '2026-11-20', pecVersion: '5.2' }).then(() => {}),
    );
  }, 120_000);
  afterAll(async () => {
    await single?.drop();
    await shared?.drop();
  });
  const sources = () => [
    { db: single, municipalities: [CAMPINAS] },
    { db: shared, municipalities: [CURITIBA, PONTA_GROSSA] },
  ];

  // Each case runs the whole pipeline over several PEC databases: on a loaded 2-core machine one run has
  // taken more than jest's default 60 s, so the budget is per case, not per assertion.
  it(
    'loads every municipality with source row counts reconciled, twice-loading is a no-op, a rerun touches one municipality',
    async () => {
      const p = await testPipeline(sources());
      try {
        const run = await p.runOnce({ runDate: RUN_DATE, window: WINDOW });
        expect(run.extracted.sort()).toEqual([CAMPINAS.ibge, CURITIBA.ibge, PONTA_GROSSA.ibge].sort());

        // Reconciliation: the warehouse holds exactly what the source holds for each slice.
        for (const [db, m] of [
          [single, CAMPINAS.ibge],
          [shared, CURITIBA.ibge],
          [shared, PONTA_GROSSA.ibge],
        ] as const) {
          for (const table of ['tb_fat_atendimento_individual', 'tb_fat_cidadao_pec', 'tb_fat_vacinacao_vacina']) {
            const [src] = (
              await db.client.query(`SELECT count(*)::int AS n FROM ${table} t JOIN tb_dim_municipio d ON d.co_seq_dim_municipio = t.co_dim_municipio WHERE d.co_ibge = $1`, [m])
            ).rows;
            const [dst] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.${table} WHERE _municipality_ibge = $1`, [m]);
            expect({ table, m, n: dst!.n }).toEqual({ table, m, n: src.n });
            expect(src.n).toBeGreaterThan(0);
          }
        }
        // PEC 5.2 names the blood-pressure columns differently: the registry aliases map them.
        const [bp] = await p.warehouse.query(`SELECT count(nu_pressao_sistolica)::INTEGER AS n FROM raw.tb_fat_atendimento_individual WHERE _municipality_ibge = $1`, [
          CURITIBA.ibge,
        ]);
        expect(bp!.n).toBeGreaterThan(0);

        const before = await fingerprint(p.warehouse, PEC_TABLES);
        await p.bus.publish('loadRequests', { runId: run.runId, municipalities: run.extracted });
        await p.bus.idle();
        const again = p.events.filter((e) => e.kind === 'load_finished').at(-1)!;
        expect(again.kind === 'load_finished' && again.outcomes.every((o) => o.status === 'already_loaded')).toBe(true);
        expect(await fingerprint(p.warehouse, PEC_TABLES)).toEqual(before);

        // Rerun Curitiba only: its rows now come from the rerun; the others are untouched.
        const others = { campinas: await fingerprint(p.warehouse, PEC_TABLES, CAMPINAS.ibge), pg: await fingerprint(p.warehouse, PEC_TABLES, PONTA_GROSSA.ibge) };
        const rerun = await p.runOnce({ trigger: 'rerun', municipalities: [CURITIBA.ibge], runDate: RUN_DATE, window: WINDOW });
        expect(rerun.runId).not.toBe(run.runId);
        const runIds = await p.warehouse.query(`SELECT DISTINCT _run_id FROM raw.tb_fat_atendimento_individual WHERE _municipality_ibge = $1`, [CURITIBA.ibge]);
        expect(runIds).toEqual([{ _run_id: rerun.runId }]);
        expect(await fingerprint(p.warehouse, PEC_TABLES, CAMPINAS.ibge)).toEqual(others.campinas);
        expect(await fingerprint(p.warehouse, PEC_TABLES, PONTA_GROSSA.ibge)).toEqual(others.pg);

        // The first run's manifest is older than what is loaded now: loading it again changes nothing.
        const afterRerun = await fingerprint(p.warehouse, PEC_TABLES);
        await p.bus.publish('loadRequests', { runId: run.runId, municipalities: [CURITIBA.ibge] });
        await p.bus.idle();
        const stale = p.events.filter((e) => e.kind === 'load_finished').at(-1)!;
        expect(stale.kind === 'load_finished' && stale.outcomes.every((o) => o.status === 'stale' || o.status === 'already_loaded')).toBe(true);
        expect(await fingerprint(p.warehouse, PEC_TABLES)).toEqual(afterRerun);
      } finally {
        await p.dispose();
      }
    },
    FULL_RUN_TIMEOUT_MS,
  );

  it(
    'a message delivered three times extracts once and loads the same warehouse',
    async () => {
      const p = await testPipeline(sources());
      try {
        p.bus.duplicate = (m) => (m.topic === 'extractRequests' || m.topic === 'loadRequests' ? 3 : 1);
        const run = await p.runOnce({ runDate: RUN_DATE, window: WINDOW, municipalities: [CAMPINAS.ibge] });
        const manifests = await p.store.list(`runs/${run.runId}/manifests/`);
        expect(manifests).toEqual([`runs/${run.runId}/manifests/${CAMPINAS.ibge}.json`]);
        const [n] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n, count(DISTINCT co_seq_fat_atd_ind)::INTEGER AS d FROM raw.tb_fat_atendimento_individual`);
        expect(n!.n).toBe(n!.d); // no duplicated rows
        const [slices] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM ops.loaded_slices`);
        expect(slices!.n).toBe(PEC_TABLES.length);
      } finally {
        await p.dispose();
      }
    },
    FULL_RUN_TIMEOUT_MS,
  );

  it(
    'no clear-text CPF, CNS, name or phone from the sources lands in a staged file, the warehouse or the log',
    async () => {
      const p = await testPipeline(sources());
      try {
        await p.runOnce({ runDate: RUN_DATE, window: WINDOW });
        const secrets = new Set<string>();
        for (const db of [single, shared]) {
          const { rows } = await db.client.query(`
          SELECT nu_cpf_cidadao AS v FROM tb_fat_cidadao_pec UNION SELECT nu_cns FROM tb_fat_cidadao_pec
          UNION SELECT no_cidadao FROM tb_fat_cidadao_pec UNION SELECT nu_telefone_celular FROM tb_fat_cidadao_pec
          UNION SELECT no_nome_mae FROM tb_fat_cad_individual UNION SELECT no_email FROM tb_fat_cad_individual
          UNION SELECT nu_cns FROM tb_dim_profissional UNION SELECT no_profissional FROM tb_dim_profissional`);
          for (const r of rows) if (r.v && String(r.v).length >= 8 && String(r.v) !== 'Não informado') secrets.add(String(r.v));
        }
        expect(secrets.size).toBeGreaterThan(500);
        const haystacks: [string, string][] = [];
        for (const key of await p.store.list('runs/')) {
          const bytes = fs.readFileSync(p.store.loadUri(key));
          haystacks.push([key, key.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8')]);
        }
        for (const t of PEC_TABLES) {
          const rows = await p.warehouse.query(`SELECT * FROM raw."${t.name}"`);
          haystacks.push([`raw.${t.name}`, rows.map((r) => Object.values(r).join('\u0001')).join('\n')]);
        }
        haystacks.push(['log', p.log.lines.join('\n')]);
        const leaks: string[] = [];
        for (const [where, text] of haystacks) for (const s of secrets) if (text.includes(s)) leaks.push(`${where}: ${s.slice(0, 3)}…`);
        expect(leaks).toEqual([]);
        // The scan is not vacuous: hashed columns are there, as pseudonyms.
        const [h] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.tb_fat_cidadao_pec WHERE regexp_full_match(nu_cpf_cidadao, '${PSEUDONYM_PATTERN}')`);
        expect(h!.n).toBeGreaterThan(0);
      } finally {
        await p.dispose();
      }
    },
    FULL_RUN_TIMEOUT_MS,
  );
});
