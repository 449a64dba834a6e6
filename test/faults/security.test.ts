import { Client } from 'pg';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { INGESTION_COLUMNS, landedTables, PSEUDONYM_PATTERN, SET_ASIDE_REASONS } from '../../shared/contracts/tables';
import { ExtractSettingsSchema } from '../../shared/contracts/config';
import { PipelineError } from '../../shared/errors';
import { readManifest } from '../../shared/records/bucket-records';
import { SourceSession } from '../../shared/extract/source';
import { Pseudonymizer } from '../../shared/extract/pseudonymizer';
import { SET_ASIDE_COLUMN } from '../../shared/extract/sql';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { registryFor, TEST_KEY } from '../support/local-pipeline';
import { testServerPort, type TestDatabase } from '../support/pg';
import { TcpProxy } from '../support/tcp-proxy';
import { FaultLab, findLeaks, ledgerRow, personalDataOf, REQUEST, secretsOf, seedSource, stagedTexts, warehouseTexts, type LabPipeline } from './support/harness';

/**
 * Security and data protection, proven on the real pipeline: no personal data in clear where the
 * policy says hash or drop (staged files, every warehouse table, logs); SQL built only from
 * registry identifiers, quoted, so hostile data and hostile column names stay data; a read-only
 * source session; no DDL or DML ever sent to a source; credentials bound to their municipality.
 */
const CAMPINAS = { ibge: '3509502', name: 'Campinas', uf: 'SP' as const };
const SANTOS = { ibge: '3548500', name: 'Santos', uf: 'SP' as const };

/** Values that would change a query if they were ever interpolated, or break a naive CSV. */
const HOSTILE = [
  "'); DROP TABLE tb_dim_cbo; --",
  "Robert'); DELETE FROM raw.tb_dim_cbo WHERE ('1'='1",
  '"; DROP SCHEMA raw CASCADE; --',
  "x' OR '1'='1",
  "=cmd|' /C calc'!A0",
  'quoted "inner" text, with a comma',
  'two\nlines\r\nand a tab\t',
  '\\N',
  'NULL',
  '',
  "São João d'Aliança 🚑",
  '$$; COPY (SELECT 1) TO PROGRAM $$touch /tmp/pwned',
];
/** A column the PEC does not have, named to break out of a quoted identifier. */
const HOSTILE_COLUMN = 'no_cbo", (SELECT pg_read_file(\'/etc/passwd\')) AS "x';

const REGISTRY_IDENTIFIERS = new Set([
  ...PEC_TABLES.map((t) => t.name),
  ...PEC_TABLES.flatMap((t) => t.columns.flatMap((c) => [c.name, ...c.aliases])),
  ...INGESTION_COLUMNS.map((c) => c.name),
  // The extractor's own alias for the set-aside description (docs/types.md), never from data.
  SET_ASIDE_COLUMN,
]);
const FORBIDDEN =
  /\b(INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|TRUNCATE|GRANT|REVOKE|COMMENT|VACUUM|ANALYZE|CLUSTER|REINDEX|LOCK|CALL|DO|EXECUTE|PREPARE|LISTEN|NOTIFY|INTO|STDIN|PROGRAM|pg_read_file|lo_import|lo_export|dblink)\b/i;
const COPY = /^COPY \(SELECT (.+) FROM public\."([a-z0-9_]+)"(?: WHERE (.+))?\) TO STDOUT WITH \(FORMAT csv\)$/s;
const COPY_WORDS = new Set([
  'AS',
  'NULL',
  'AND',
  'IN',
  'AT',
  'TIME',
  'ZONE',
  'now',
  'DATE',
  '>=',
  '<',
  'text',
  'bigint',
  'integer',
  'smallint',
  'numeric',
  'double',
  'precision',
  'date',
  'timestamp',
]);
/** What the type-conformance checks add (shared/extract/sql.ts, docs/types.md): read-only expressions only. */
const CONFORMANCE_WORDS = [
  'TIMESTAMP',
  '1e29',
  'CASE',
  'WHEN',
  'THEN',
  'ELSE',
  'END',
  'OR',
  'NOT',
  'IS',
  '>',
  '<=',
  '=',
  '<>',
  '-',
  '+',
  'isfinite',
  'octet_length',
  'left',
  'json_build_array',
  'abs',
  'trunc',
  'scale',
  'round',
  'length',
  'extract',
  'year',
  'FROM',
];
for (const w of CONFORMANCE_WORDS) COPY_WORDS.add(w);

/**
 * Why a statement the extractor sent is not one it may send, or undefined. Allowed: the read-only
 * BEGIN, SET LOCAL, catalogue SELECTs, COPY (SELECT <registry columns> FROM public."<registry
 * table>" …) TO STDOUT, COMMIT. In a COPY every identifier is a quoted registry name and every
 * literal a checked form (IBGE code, run id, date, 'UTC').
 */
function problemWith(sql: string): string | undefined {
  if (sql === 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' || sql === 'COMMIT') return undefined;
  if (sql.startsWith('SET ')) return sql.split(';').every((s) => /^SET LOCAL [a-z_]+ = ('[A-Za-z ,]+'|\d+)$/i.test(s.trim())) ? undefined : `not SET LOCAL: ${sql}`;
  const literals = sql.match(/'(?:[^']|'')*'/g) ?? [];
  const bare = sql.replace(/'(?:[^']|'')*'/g, "''");
  if (FORBIDDEN.test(bare.replace(/"(?:[^"]|"")*"/g, '""'))) return `forbidden keyword: ${sql.slice(0, 200)}`;
  if (sql.startsWith('SELECT ')) return undefined; // catalogue reads (no forbidden keyword, checked above)
  const m = COPY.exec(sql);
  if (!m) return `neither a catalogue SELECT nor a COPY … TO STDOUT: ${sql.slice(0, 200)}`;
  if (!REGISTRY_IDENTIFIERS.has(m[2]!)) return `table not in the registry: ${m[2]}`;
  for (const q of sql.match(/"(?:[^"]|"")*"/g) ?? []) if (!REGISTRY_IDENTIFIERS.has(q.slice(1, -1))) return `identifier not in the registry: ${q}`;
  // Checked forms, plus what the conformance checks write (docs/types.md): a registry column's name as
  // the label of a set-aside record, and the fixed range bounds of the type contract.
  for (const l of literals)
    if (
      !/^'(\d{7}|[a-z0-9][a-z0-9-]{2,62}|\d{4}-\d{2}-\d{2}|\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?|UTC|NaN)'$/.test(l) &&
      !REGISTRY_IDENTIFIERS.has(l.slice(1, -1)) &&
      !(l.slice(1, -1) in SET_ASIDE_REASONS)
    )
      return `unchecked literal: ${l}`;
  const words = `${m[1]} ${m[3] ?? ''}`
    .replace(/"(?:[^"]|"")*"|'(?:[^']|'')*'/g, ' ')
    .split(/[\s,()]+|::/)
    .filter((w) => w && !/^\d+$/.test(w));
  const unknown = words.filter((w) => !COPY_WORDS.has(w));
  return unknown.length ? `unexpected SQL in a COPY: ${unknown.join(' ')}` : undefined;
}

describe('security and data protection', () => {
  const lab = new FaultLab();
  let campinas: TestDatabase;
  let santos: TestDatabase;
  let proxy: TcpProxy;
  let run: { runId: string };
  let p: LabPipeline;
  let hostileCpf: { id: string; value: string };

  beforeAll(async () => {
    campinas = await seedSource('faults_sec_a', 501, [CAMPINAS], { citizens: 100, months: 3 });
    santos = await seedSource('faults_sec_b', 502, [SANTOS], { citizens: 100, months: 3 });
    // Hostile text in kept columns, a hostile CPF (hashed), and a hostile column name in the source.
    const c = campinas.client;
    for (const [i, v] of HOSTILE.entries()) await c.query(`INSERT INTO tb_dim_cbo (co_seq_dim_cbo, nu_cbo, no_cbo) VALUES ($1, $2, $3)`, [9000 + i, `99${i}`, v]);
    await c.query(`INSERT INTO tb_dim_cbo (co_seq_dim_cbo, nu_cbo, no_cbo) VALUES (8999, '998', NULL)`);
    const { rows } = await c.query(
      `UPDATE tb_fat_cidadao_pec SET nu_cpf_cidadao = $1 WHERE co_seq_fat_cidadao_pec = (SELECT min(co_seq_fat_cidadao_pec) FROM tb_fat_cidadao_pec) RETURNING co_seq_fat_cidadao_pec::text AS id`,
      ["123'); DROP TABLE tb_fat_cidadao_pec; --"],
    );
    hostileCpf = { id: rows[0].id, value: "123'); DROP TABLE tb_fat_cidadao_pec; --" };
    await c.query(`ALTER TABLE tb_dim_cbo ADD COLUMN "${HOSTILE_COLUMN.replaceAll('"', '""')}" text DEFAULT 'never-extracted'`);
    await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${campinas.readerRole}`);

    proxy = new TcpProxy(testServerPort());
    await proxy.up();
    p = await lab.pipeline([
      { db: campinas, municipalities: [CAMPINAS], port: proxy.port },
      { db: santos, municipalities: [SANTOS] },
    ]);
    run = await p.runOnce(REQUEST);
  }, 120_000);
  afterAll(async () => {
    await p?.dispose();
    await proxy?.down();
    await campinas?.drop();
    await santos?.drop();
  });

  it('the run over hostile data succeeds for both municipalities', async () => {
    expect((await p.warehouse.query(`SELECT status FROM ops.runs WHERE run_id = $1`, [run.runId]))[0]).toEqual({ status: 'succeeded' });
    expect(await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM ops.reconciliation WHERE run_id = $1 AND status <> 'match'`, [run.runId])).toEqual([{ n: 0 }]);
  });

  it('no clear-text personal data (policy hash or drop) and no secret in any staged file or warehouse table', async () => {
    const personal = await personalDataOf([campinas, santos]);
    expect(personal.length).toBeGreaterThan(300);
    const haystacks = [...(await stagedTexts(p)), ...(await warehouseTexts(p.warehouse))];
    expect(haystacks.filter(([k]) => k.endsWith('.csv.gz')).length).toBeGreaterThanOrEqual(2 * PEC_TABLES.length);
    expect(findLeaks(haystacks, [...personal, ...secretsOf([campinas, santos]), hostileCpf.value])).toEqual([]);
  });

  it('hashed columns hold HMAC-SHA-256 pseudonyms under the pipeline key; dropped columns exist nowhere', async () => {
    for (const t of PEC_TABLES) {
      for (const c of t.columns.filter((col) => col.pii?.policy === 'hash')) {
        const [r] = await p.warehouse.query(
          `SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE regexp_full_match("${c.name}", '${PSEUDONYM_PATTERN}'))::INTEGER AS hashed FROM raw."${t.name}" WHERE "${c.name}" IS NOT NULL`,
        );
        expect({ column: `${t.name}.${c.name}`, ...r }).toEqual({ column: `${t.name}.${c.name}`, n: r!.n, hashed: r!.n });
      }
      const landed = new Set(
        (await p.warehouse.query(`SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = $1`, [t.name])).map((r) => String(r.c)),
      );
      for (const c of t.columns.filter((col) => col.pii?.policy === 'drop'))
        expect({ column: `${t.name}.${c.name}`, landed: landed.has(c.name) }).toEqual({ column: `${t.name}.${c.name}`, landed: false });
    }
    // Recompute one pseudonym from the source value: the pseudonymiser ran, with the right key.
    const { rows } = await campinas.client.query(`SELECT nu_cpf_cidadao AS v FROM tb_fat_cidadao_pec WHERE nu_cpf_cidadao IS NOT NULL AND co_seq_fat_cidadao_pec <> $1 LIMIT 1`, [
      hostileCpf.id,
    ]);
    const expected = Pseudonymizer.reference(TEST_KEY, String(rows[0].v));
    expect(await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.tb_fat_cidadao_pec WHERE nu_cpf_cidadao = $1`, [expected])).toEqual([{ n: 1 }]);
    // A hostile value in a hashed column is a value like any other: pseudonymised.
    const hostileHash = Pseudonymizer.reference(TEST_KEY, hostileCpf.value);
    expect(await p.warehouse.query(`SELECT co_seq_fat_cidadao_pec::VARCHAR AS id FROM raw.tb_fat_cidadao_pec WHERE nu_cpf_cidadao = $1`, [hostileHash])).toEqual([
      { id: hostileCpf.id },
    ]);
    // Staged headers name no dropped column either.
    const manifest = (await readManifest(p.store, run.runId, CAMPINAS.ibge))!;
    const dropped = new Set(PEC_TABLES.flatMap((t) => t.columns.filter((c) => c.pii?.policy === 'drop').map((c) => `${t.name}.${c.name}`)));
    expect(manifest.tables.flatMap((t) => t.columns.map((c) => `${t.table}.${c.name}`)).filter((c) => dropped.has(c))).toEqual([]);
  });

  it('hostile values in source data land as data, byte for byte (NULL and empty string kept apart); every table survives', async () => {
    const landed = await p.warehouse.query(`SELECT co_seq_dim_cbo::INTEGER AS id, no_cbo FROM raw.tb_dim_cbo WHERE _municipality_ibge = $1 AND co_seq_dim_cbo >= 8999 ORDER BY 1`, [
      CAMPINAS.ibge,
    ]);
    expect(landed).toEqual([{ id: 8999, no_cbo: null }, ...HOSTILE.map((v, i) => ({ id: 9000 + i, no_cbo: v }))]);
    const [raw] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_schema = 'raw'`);
    expect(raw!.n).toBe(landedTables(PEC_TABLES).length);
    const { rows } = await campinas.client.query(`SELECT count(*)::int AS n FROM tb_dim_cbo`);
    expect(rows[0].n).toBeGreaterThan(HOSTILE.length);
  });

  it('SQL sent to a source is built only from registry identifiers, quoted, and checked literals; no DDL or DML, ever', () => {
    expect(proxy.statements.length).toBeGreaterThan(PEC_TABLES.length);
    expect(proxy.statements.filter((s) => s.startsWith('COPY '))).toHaveLength(PEC_TABLES.length);
    expect(proxy.statements.map(problemWith).filter(Boolean)).toEqual([]);
    // The hostile column the source grew is never named; the hostile data never appears in SQL.
    expect(proxy.statements.filter((s) => s.includes('pg_read_file') || HOSTILE.some((h) => h.length > 4 && s.includes(h)))).toEqual([]);
    // The checker itself refuses what it must refuse.
    expect(problemWith(`COPY (SELECT "no_cbo", (SELECT pg_read_file('/etc/passwd')) AS "x" FROM public."tb_dim_cbo") TO STDOUT WITH (FORMAT csv)`)).toMatch(/forbidden/);
    expect(problemWith(`COPY (SELECT "no_cbo" FROM public."tb_dim_cbo" WHERE "co_ibge" = '1' OR '1'='1') TO STDOUT WITH (FORMAT csv)`)).toMatch(/literal|unexpected/);
    expect(problemWith(`COPY (SELECT x FROM public."tb_dim_cbo") TO STDOUT WITH (FORMAT csv)`)).toMatch(/unexpected SQL in a COPY: x/);
    expect(problemWith(`SET statement_timeout = 0`)).toMatch(/not SET LOCAL/);
  });

  it('the source session is read-only: a write fails inside PostgreSQL (25006), even for a role allowed to write, even after a COMMIT', async () => {
    const writer = `writer_${campinas.name}`;
    await campinas.client.query(
      `CREATE ROLE ${writer} LOGIN PASSWORD 'writer-pw-1' ; GRANT CONNECT ON DATABASE ${campinas.name} TO ${writer}; GRANT USAGE, CREATE ON SCHEMA public TO ${writer}; GRANT SELECT, INSERT, DELETE ON tb_dim_cbo TO ${writer}`,
    );
    const [entry] = registryFor([{ db: campinas, municipalities: [CAMPINAS] }]).municipalities;
    const limits = { ...ExtractSettingsSchema.parse({}), applicationName: 'pec-pipeline-extract' };
    const sqlstate = (e: unknown) => ((e as PipelineError).cause as { code?: string } | undefined)?.code;
    try {
      // Control: outside the pipeline's session this role can write.
      const plain = new Client({ host: '127.0.0.1', port: testServerPort(), database: campinas.name, user: writer, password: 'writer-pw-1' });
      await plain.connect();
      await plain.query(`INSERT INTO tb_dim_cbo (co_seq_dim_cbo, nu_cbo, no_cbo) VALUES (7777, '7777', 'control')`);
      await plain.query(`DELETE FROM tb_dim_cbo WHERE co_seq_dim_cbo = 7777`);
      await plain.end();

      for (const attempt of [`INSERT INTO tb_dim_cbo (co_seq_dim_cbo, nu_cbo, no_cbo) VALUES (7778, '7778', 'write')`, `CREATE TABLE pwned (x int)`, `DELETE FROM tb_dim_cbo`]) {
        const session = await SourceSession.open({ ...entry!, connection: { ...entry!.connection, user: writer, port: testServerPort() } }, 'writer-pw-1', limits);
        try {
          const err = await session.query(attempt).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(PipelineError);
          expect({ attempt, sqlstate: sqlstate(err) }).toEqual({ attempt, sqlstate: '25006' });
          // Even outside the snapshot transaction the session stays read-only.
          const after = await SourceSession.open({ ...entry!, connection: { ...entry!.connection, user: writer, port: testServerPort() } }, 'writer-pw-1', limits);
          try {
            await after.query('COMMIT');
            expect({ attempt, sqlstate: sqlstate(await after.query(attempt).catch((e: unknown) => e)) }).toEqual({ attempt, sqlstate: '25006' });
          } finally {
            await after.close();
          }
        } finally {
          await session.close();
        }
      }
      const { rows } = await campinas.client.query(`SELECT count(*)::int AS n FROM tb_dim_cbo WHERE co_seq_dim_cbo = 7778`);
      expect(rows[0].n).toBe(0);
      expect((await campinas.client.query(`SELECT to_regclass('public.pwned') AS t`)).rows[0].t).toBeNull();
    } finally {
      await campinas.client.query(`REASSIGN OWNED BY ${writer} TO CURRENT_USER; DROP OWNED BY ${writer}; DROP ROLE ${writer}`);
    }
  });

  it("a municipality's credentials cannot reach another municipality's source: the registry binds them (source_auth, nothing read)", async () => {
    const guard = new TcpProxy(testServerPort());
    await guard.up();
    const [a] = registryFor([{ db: campinas, municipalities: [CAMPINAS] }]).municipalities;
    // Campinas's entry edited to point at Santos's database, with Campinas's role and password …
    const crossed = MunicipalityRegistry.parse({
      municipalities: [
        { ...a!, connection: { ...a!.connection, port: guard.port, database: santos.name } },
        // … and Santos's entry given Santos's role but Campinas's password.
        { ...a!, ibge: SANTOS.ibge, name: SANTOS.name, installation: 'santos', connection: { ...a!.connection, port: guard.port, database: santos.name, user: santos.readerRole } },
      ],
    });
    const q = await lab.pipeline([{ db: campinas, municipalities: [CAMPINAS] }], { registry: crossed });
    try {
      const r = await q.runOnce(REQUEST);
      expect(r.workflow.failed.sort()).toEqual([CAMPINAS.ibge, SANTOS.ibge].sort());
      expect(q.bus.deadLetters.map((d) => d.attributes.errorClass)).toEqual(['source_auth', 'source_auth']);
      expect(q.bus.deadLetters.map((d) => d.attributes.errorMessage).sort()).toEqual([
        expect.stringMatching(/^source error 28P01: password authentication failed/),
        expect.stringMatching(/^source error 42501: permission denied for database/),
      ]);
      for (const m of [CAMPINAS.ibge, SANTOS.ibge]) {
        expect(await ledgerRow(q.warehouse, r.runId, m)).toMatchObject({ status: 'failed', error_class: 'source_auth', attempts: 1 });
        expect(await readManifest(q.store, r.runId, m)).toBeUndefined();
      }
      // Santos's data was never read: not one statement reached its server.
      expect(guard.statements).toEqual([]);
      for (const t of PEC_TABLES) expect(await q.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw."${t.name}"`)).toEqual([{ n: 0 }]);
    } finally {
      await q.dispose();
      await guard.down();
    }
  });

  it('no secret and no clear-text personal data in any log line or dead letter of this file', async () => {
    await p.dispose();
    p = await lab.pipeline([{ db: santos, municipalities: [SANTOS] }]); // afterAll disposes this one
    const personal = await personalDataOf([campinas, santos]);
    expect(lab.logLines.length).toBeGreaterThan(50);
    expect(
      findLeaks(
        [
          ['logs', lab.logLines.join('\n')],
          ['dead letters', lab.deadLetterTexts.join('\n')],
        ],
        [...secretsOf([campinas, santos]), ...personal, hostileCpf.value],
      ),
    ).toEqual([]);
  });
});
