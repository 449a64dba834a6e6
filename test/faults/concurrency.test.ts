import { Client } from 'pg';
import { testServerUrl, type TestDatabase } from '../support/pg';
import type { Source } from '../support/local-pipeline';
import {
  buildReference,
  expectSameAsReference,
  FaultLab,
  findLeaks,
  personalDataOf,
  REQUEST,
  removeDir,
  secretsOf,
  seedSource,
  type Reference,
  type SeedMunicipality,
} from './support/harness';

/**
 * Many municipalities at once: 12 municipalities on 4 PostgreSQL installations (3 each), under a
 * global cap of 3 concurrent extract deliveries (the function's max instances) and the per-server
 * lease (one extraction per installation at a time: a municipal server also serves clinics). The
 * plan releases two municipalities of the same installation next to each other, so without the
 * lease they would extract together, and more installations than the cap, so without the cap four
 * would. A superuser samples pg_stat_activity during the run: the caps hold at every sample, the
 * extractions really run in parallel, and every municipality lands exactly as in a clean serial run.
 */
const INSTALLATIONS: SeedMunicipality[][] = [
  [
    { ibge: '3509502', name: 'Campinas', uf: 'SP' },
    { ibge: '3548500', name: 'Santos', uf: 'SP' },
    { ibge: '3552205', name: 'Sorocaba', uf: 'SP' },
  ],
  [
    { ibge: '4106902', name: 'Curitiba', uf: 'PR' },
    { ibge: '4119905', name: 'Ponta Grossa', uf: 'PR' },
    { ibge: '4205407', name: 'Florianópolis', uf: 'SC' },
  ],
  [
    { ibge: '2927408', name: 'Salvador', uf: 'BA' },
    { ibge: '2611606', name: 'Recife', uf: 'PE' },
    { ibge: '2304400', name: 'Fortaleza', uf: 'CE' },
  ],
  [
    { ibge: '3106200', name: 'Belo Horizonte', uf: 'MG' },
    { ibge: '5208707', name: 'Goiânia', uf: 'GO' },
    { ibge: '1302603', name: 'Manaus', uf: 'AM' },
  ],
];
const GLOBAL_CAP = 3;

describe('many municipalities under the per-source and global concurrency caps', () => {
  const lab = new FaultLab();
  let dbs: TestDatabase[] = [];
  let ref: Reference;
  /** One registry entry per municipality, in the plan's order: two per installation, then the third of each. */
  const sources = (): Source[] => [
    ...dbs.flatMap((db, k) => [0, 1].map((i) => ({ db, municipalities: [INSTALLATIONS[k]![i]!] }))),
    ...dbs.map((db, k) => ({ db, municipalities: [INSTALLATIONS[k]![2]!] })),
  ];

  beforeAll(async () => {
    dbs = await Promise.all(INSTALLATIONS.map((ms, k) => seedSource(`faults_many_${k}`, 400 + k, ms, { citizens: 80, months: 3 })));
    // The reference extracts one municipality at a time.
    ref = await buildReference(lab, sources(), REQUEST, { subscription: { maxConcurrency: 1 } });
  }, 120_000);
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    removeDir(ref?.dir);
  });

  it('never more than one extraction per installation nor more than the global cap, and every municipality lands', async () => {
    const admin = new Client({ connectionString: testServerUrl() });
    await admin.connect();
    const names = dbs.map((d) => d.name);
    const peak = { total: 0, perDb: 0, samples: 0, over: [] as string[] };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await admin.query<{ datname: string; n: number }>(
          `SELECT datname, count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pec-pipeline-extract' AND datname = ANY($1) GROUP BY 1`,
          [names],
        );
        const total = rows.reduce((s, r) => s + r.n, 0);
        peak.samples++;
        peak.total = Math.max(peak.total, total);
        peak.perDb = Math.max(peak.perDb, ...rows.map((r) => r.n), 0);
        if (total > GLOBAL_CAP || rows.some((r) => r.n > 1)) peak.over.push(JSON.stringify(rows));
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    const p = await lab.pipeline(sources(), { subscription: { maxConcurrency: GLOBAL_CAP } });
    try {
      const run = await p.runOnce(REQUEST);
      sampling = false;
      await sampler;
      expect(peak.samples).toBeGreaterThan(50);
      expect(peak.over).toEqual([]);
      expect(peak.perDb).toBe(1);
      expect(peak.total).toBeGreaterThanOrEqual(2); // extractions really ran in parallel
      expect(run.extracted.sort()).toEqual(ref.municipalities);
      const [r] = await p.warehouse.query(`SELECT status, municipalities_loaded::INTEGER AS loaded FROM ops.runs WHERE run_id = $1`, [run.runId]);
      expect(r).toEqual({ status: 'succeeded', loaded: 12 });
      const mismatches = await p.warehouse.query(`SELECT municipality, table_name, status FROM ops.reconciliation WHERE run_id = $1 AND status <> 'match'`, [run.runId]);
      expect(mismatches).toEqual([]);
      await expectSameAsReference(p.warehouse, ref);
    } finally {
      sampling = false;
      await sampler.catch(() => {});
      await admin.end();
      await p.dispose();
    }
  });

  it('no secret and no clear-text personal data in any log line of this file', async () => {
    const personal = await personalDataOf(dbs);
    expect(personal.length).toBeGreaterThan(300);
    expect(
      findLeaks(
        [
          ['logs', lab.logLines.join('\n')],
          ['dead letters', lab.deadLetterTexts.join('\n')],
        ],
        [...secretsOf(dbs), ...personal],
      ),
    ).toEqual([]);
  });
});
