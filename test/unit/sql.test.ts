import { PEC_TABLES, getTable } from '../../shared/tables/pec-tables';
import { quoteIdent } from '../../shared/contracts/tables';
import { conformCheck, copySql, dateLiteral, intLiteral, resolveColumns } from '../../shared/extract/sql';
import type { SourceColumn } from '../../shared/extract/source';
import { TableRegistry, type TableDef } from '../../shared/contracts/tables';
import { TerminalError } from '../../shared/errors';

const consultation = getTable('tb_fat_atendimento_individual');
const allColumns = (t = consultation) => new Set(t.columns.map((c) => c.name));

describe('SQL built only from registry identifiers and checked values', () => {
  it('quotes registry identifiers and refuses anything else', () => {
    expect(quoteIdent('co_dim_tempo')).toBe('"co_dim_tempo"');
    for (const hostile of ['x"; DROP TABLE t; --', 'Co_Dim', 'a b', '', 'tb;', 'x'.repeat(64)]) expect(() => quoteIdent(hostile)).toThrow(/non-registry identifier/);
  });
  it('only lets integers and dates through as literals', () => {
    expect(intLiteral('42')).toBe('42');
    expect(() => intLiteral('1 OR 1=1')).toThrow();
    expect(() => intLiteral('1e3')).toThrow();
    expect(dateLiteral('2026-11-22')).toBe("DATE '2026-11-22'");
    expect(() => dateLiteral("2026-11-22' OR '1'='1")).toThrow();
  });
  it('builds the COPY with hashed columns first, ingestion columns last, and closed-open window bounds', () => {
    const r = resolveColumns(consultation, allColumns());
    expect(r.columns.slice(0, r.hashedCount).map((c) => c.name)).toEqual(['nu_cns', 'nu_cpf_cidadao']);
    expect(r.columns.slice(-3).map((c) => c.name)).toEqual(['_municipality_ibge', '_run_id', '_extracted_at']);
    expect(r.selectList.join(' ')).not.toMatch(/nu_prontuario/); // dropped: never selected
    const sql = copySql(consultation, r, ['7', '9'], { start: '2026-10-01', end: '2026-11-01' }, { ibge: '3509502', runId: 'daily-20261122' });
    expect(sql).toContain('"co_dim_municipio" IN (7, 9)');
    expect(sql).toContain('"co_dim_tempo" >= 20261001 AND "co_dim_tempo" < 20261101');
    // Column types unknown (a bare name set): every check applies, so the set-aside column leads.
    expect(sql).toMatch(/^COPY \(SELECT CASE WHEN .* END AS "_set_aside", "nu_cns"::text AS "nu_cns", "nu_cpf_cidadao"::text AS "nu_cpf_cidadao", /);
    expect(sql).toMatch(/TO STDOUT WITH \(FORMAT csv\)$/);
  });
  it('refuses hostile values even if they got past the message contract', () => {
    const r = resolveColumns(consultation, allColumns());
    const w = { start: '2026-10-01', end: '2026-11-01' };
    expect(() => copySql(consultation, r, ['7) OR (1=1'], w, { ibge: '3509502', runId: 'daily-20261122' })).toThrow(/non-integer/);
    expect(() => copySql(consultation, r, ['7'], { start: "2026-10-01'", end: '2026-11-01' }, { ibge: '3509502', runId: 'daily-20261122' })).toThrow();
    expect(() => copySql(consultation, r, ['7'], w, { ibge: "3509502'", runId: 'daily-20261122' })).toThrow(/unchecked SQL text/);
    expect(() => copySql(consultation, r, ['7'], w, { ibge: '3509502', runId: "x'||pg_sleep(1)||'" })).toThrow(/unchecked SQL text/);
  });
  it('maps drifted column names through aliases, NULL-fills where allowed and fails the table otherwise', () => {
    const v52 = new Set([...allColumns()].filter((c) => !['nu_pressao_sistolica', 'nu_pressao_diastolica', 'nu_idade_gestacional_semanas'].includes(c)));
    v52.add('nu_medicao_pressao_sistolica');
    v52.add('nu_medicao_pressao_diastolica');
    const r = resolveColumns(consultation, v52);
    // An aliased column is checked (and NULLed) under its source name, landed under the registry's.
    expect(r.selectList.find((e) => e.endsWith(' AS "nu_pressao_sistolica"'))).toMatch(
      /^CASE WHEN \("nu_medicao_pressao_sistolica" = 'NaN' .* THEN NULL ELSE "nu_medicao_pressao_sistolica" END AS "nu_pressao_sistolica"$/,
    );
    expect(r.selectList).toContain('NULL::integer AS "nu_idade_gestacional_semanas"');
    expect(r.warnings).toEqual(['tb_fat_atendimento_individual.nu_idade_gestacional_semanas is absent from this PEC version: filled with NULL']);
    const noCbo = new Set([...allColumns()].filter((c) => c !== 'co_dim_cbo_1'));
    expect(() => resolveColumns(consultation, noCbo)).toThrow(/co_dim_cbo_1 absent from the source/);
  });
  it('reports source columns the registry does not know (drift the other way), not dropped or aliased ones', () => {
    const newer = new Set([...allColumns(), 'nu_medicao_pressao_sistolica', 'ds_nova_coluna', 'co_novo']);
    expect(resolveColumns(consultation, newer).unknownColumns).toEqual(['co_novo', 'ds_nova_coluna']);
    expect(resolveColumns(consultation, allColumns()).unknownColumns).toEqual([]);
    // Columns the registry lists as known-but-not-extracted are not drift.
    expect(resolveColumns(consultation, new Set([...allColumns(), 'nu_uuid_ficha'])).unknownColumns).toEqual([]);
    expect(resolveColumns(getTable('tb_dim_cbo'), new Set([...allColumns(getTable('tb_dim_cbo')), 'ds_filtro', 'st_registro_valido'])).unknownColumns).toEqual([]);
  });
  it('refuses a registry table that both extracts and ignores a column', () => {
    const t = { ...consultation, ignoredColumns: ['nu_peso'] };
    expect(() => TableRegistry.parse([t])).toThrow(/nu_peso.{0,8} is both extracted and ignored/);
  });
  it('every registry table builds a COPY', () => {
    for (const t of PEC_TABLES) {
      const sql = copySql(t, resolveColumns(t, allColumns(t)), ['2'], { start: '2026-01-01', end: '2026-02-01' }, { ibge: '3509502', runId: 'r-1' });
      expect(sql.startsWith('COPY (SELECT ')).toBe(true);
    }
  });

  describe('conformance checks', () => {
    const col = (dataType: string, extra: Partial<SourceColumn> = {}): SourceColumn => ({ dataType, maxChars: null, precision: null, scale: null, ...extra });
    it('generates no check where the source type already guarantees the landed type (the fast path)', () => {
      expect(conformCheck('numeric', '"x"', col('numeric', { precision: 10, scale: 2 }))).toBeUndefined();
      expect(conformCheck('numeric', '"x"', col('numeric', { precision: 38, scale: 9 }))).toBeUndefined();
      expect(conformCheck('numeric', '"x"', col('integer'))).toBeUndefined();
      expect(conformCheck('text', '"x"', col('character varying', { maxChars: 255 }))).toBeUndefined();
      expect(conformCheck('integer', '"x"', col('integer'))).toBeUndefined();
      expect(conformCheck('smallint', '"x"', col('smallint'))).toBeUndefined();
      for (const t of ['bigint', 'double'] as const) expect(conformCheck(t, '"x"', undefined)).toBeUndefined();
      // A fact table whose columns are all of exactly representable types has no set-aside column at all.
      const dims = resolveColumns(
        getTable('tb_dim_cbo'),
        new Map([
          ['co_seq_dim_cbo', col('bigint')],
          ['nu_cbo', col('character varying', { maxChars: 6 })],
          ['no_cbo', col('character varying', { maxChars: 255 })],
        ]),
      );
      expect(dims.setAsideSql).toBeNull();
      expect(copySql(getTable('tb_dim_cbo'), dims, [], null, { ibge: '3509502', runId: 'r-1' })).toMatch(/^COPY \(SELECT "co_seq_dim_cbo", "nu_cbo", "no_cbo", '3509502'/);
    });
    it('checks what can fall outside: unconstrained or too-wide numeric, wider integers, dates, timestamps, long text', () => {
      expect(conformCheck('numeric', '"x"', col('numeric'))?.bad).toBe(`("x" = 'NaN' OR abs("x") >= 1e29 OR "x" <> round("x", 9))`);
      expect(conformCheck('numeric', '"x"', col('numeric', { precision: 40, scale: 2 }))).toBeDefined();
      expect(conformCheck('numeric', '"x"', col('numeric', { precision: 20, scale: 10 }))).toBeDefined();
      expect(conformCheck('integer', '"x"', col('bigint'))?.bad).toBe('("x" < -2147483648 OR "x" > 2147483647)');
      expect(conformCheck('smallint', '"x"', col('integer'))?.bad).toBe('("x" < -32768 OR "x" > 32767)');
      expect(conformCheck('integer', '"x"', col('numeric'))?.bad).toBe('("x" < -2147483648 OR "x" > 2147483647 OR "x" <> trunc("x"))');
      expect(conformCheck('date', '"x"', col('date'))?.reason).toContain('date_infinite');
      expect(conformCheck('timestamp', '"x"', col('timestamp without time zone'))?.bad).toContain("TIMESTAMP '9999-12-31 23:59:59.999999'");
      expect(conformCheck('text', '"x"', col('text'))?.original).toBe('left("x", 1000)');
      expect(conformCheck('text', '"x"', col('character varying', { maxChars: 1_000_000 }))).toBeDefined();
    });
    it('adds no check a drifted source type could not evaluate (the COPY must not fail on type drift)', () => {
      // Staged as PostgreSQL prints them and reported as drift instead: e.g. octet_length(integer) or
      // text < TIMESTAMP would be errors inside the COPY.
      for (const dt of ['integer', 'bigint', 'date', 'timestamp without time zone', 'numeric']) expect(conformCheck('text', '"x"', col(dt))).toBeUndefined();
      for (const dt of ['date', 'text', 'timestamp with time zone']) expect(conformCheck('timestamp', '"x"', col(dt))).toBeUndefined();
      for (const dt of ['timestamp without time zone', 'text']) expect(conformCheck('date', '"x"', col(dt))).toBeUndefined();
      for (const dt of ['text', 'double precision']) expect(conformCheck('numeric', '"x"', col(dt))).toBeUndefined();
      for (const dt of ['text', 'character', 'character varying']) expect(conformCheck('text', '"x"', col(dt))?.bad).toBe('octet_length("x") > 1048576');
    });
    it('skips the length check exactly when varchar(n) cannot exceed the limit (4 bytes per character)', () => {
      expect(conformCheck('text', '"x"', col('character varying', { maxChars: 262_144 }))).toBeUndefined();
      expect(conformCheck('text', '"x"', col('character varying', { maxChars: 262_145 }))).toBeDefined();
    });
    it('checks a numeric the registry pins to numeric(p,s) against p and s, not the contract maximum', () => {
      const pinned = { precision: 5, scale: 1 };
      expect(conformCheck('numeric', '"x"', col('numeric'), pinned)?.bad).toBe(`("x" = 'NaN' OR abs("x") >= 1e4 OR "x" <> round("x", 1))`);
      // A source column no wider than the pinned type needs no check; a wider one does.
      expect(conformCheck('numeric', '"x"', col('numeric', { precision: 5, scale: 1 }), pinned)).toBeUndefined();
      expect(conformCheck('numeric', '"x"', col('numeric', { precision: 4, scale: 0 }), pinned)).toBeUndefined();
      expect(conformCheck('numeric', '"x"', col('numeric', { precision: 6, scale: 1 }), pinned)).toBeDefined();
      expect(conformCheck('numeric', '"x"', col('numeric', { precision: 5, scale: 2 }), pinned)).toBeDefined();
      // The pin reaches the COPY through the registry column.
      const t = TableRegistry.parse([
        {
          name: 'tb_pa',
          description: 'pinned',
          primaryKey: ['co_seq'],
          municipality: { kind: 'installation' },
          mode: { kind: 'full' },
          columns: [
            { name: 'co_seq', type: 'bigint' },
            { name: 'nu_pressao_sistolica', type: 'numeric', precision: 5, scale: 1 },
          ],
        },
      ])[0]!;
      const resolved = resolveColumns(
        t,
        new Map([
          ['co_seq', col('bigint')],
          ['nu_pressao_sistolica', col('numeric')],
        ]),
      );
      expect(resolved.setAsideSql).toContain('abs("nu_pressao_sistolica") >= 1e4');
      expect(resolved.setAsideSql).toContain('round("nu_pressao_sistolica", 1)');
    });
    it('validates a pinned precision against the contract: numeric only, both given, scale ≤ 9, integer digits ≤ 29', () => {
      const table = (c: Record<string, unknown>) => [
        {
          name: 'tb_pa',
          description: 'pinned',
          primaryKey: ['co_seq'],
          municipality: { kind: 'installation' },
          mode: { kind: 'full' },
          columns: [
            { name: 'co_seq', type: 'bigint' },
            { name: 'nu_x', ...c },
          ],
        },
      ];
      expect(() => TableRegistry.parse(table({ type: 'numeric', precision: 38, scale: 9 }))).not.toThrow();
      expect(() => TableRegistry.parse(table({ type: 'numeric', precision: 5, scale: 1 }))).not.toThrow();
      expect(() => TableRegistry.parse(table({ type: 'double', precision: 5, scale: 1 }))).toThrow(/nu_x: precision\/scale apply to numeric columns only, not double/);
      expect(() => TableRegistry.parse(table({ type: 'numeric', precision: 5 }))).toThrow(/nu_x: a pinned numeric needs both precision and scale/);
      expect(() => TableRegistry.parse(table({ type: 'numeric', precision: 20, scale: 10 }))).toThrow(/nu_x: scale 10 is above the contract's maximum 9/);
      expect(() => TableRegistry.parse(table({ type: 'numeric', precision: 31, scale: 1 }))).toThrow(
        /nu_x: 30 integer digits \(precision − scale\) are above the contract's maximum 29/,
      );
      expect(() => TableRegistry.parse(table({ type: 'numeric', precision: 2, scale: 3 }))).toThrow(/nu_x: scale 3 is above the precision 2/);
      expect(() => TableRegistry.parse(table({ type: 'numeric', precision: 39, scale: 9 }))).toThrow(/precision/);
    });
    it('reports type drift: a source type the registry type does not read exactly', () => {
      const cbo = getTable('tb_dim_cbo');
      const typed = (nuCbo: SourceColumn) =>
        new Map([
          ['co_seq_dim_cbo', col('integer')],
          ['nu_cbo', nuCbo],
          ['no_cbo', col('text')],
        ]);
      expect(resolveColumns(cbo, typed(col('character varying', { maxChars: 6 }))).typeDrift).toEqual([]);
      expect(resolveColumns(cbo, typed(col('bigint'))).typeDrift).toEqual([]); // text holds any type's text form
      const peso = resolveColumns(
        consultation,
        new Map([...allColumns()].map((n) => [n, n === 'nu_peso' ? col('numeric') : n === 'dt_nascimento' ? col('timestamp without time zone') : col('bigint')])),
      );
      expect(peso.typeDrift).toEqual(
        expect.arrayContaining(['dt_nascimento: source timestamp without time zone read as registry date', 'nu_peso: source numeric read as registry double']),
      );
    });
    it('puts the primary key and one item per checked column in the set-aside description', () => {
      const r = resolveColumns(consultation, allColumns());
      expect(r.setAsideSql).toMatch(/^CASE WHEN .* THEN json_build_array\(json_build_array\("co_seq_fat_atd_ind"::text\), /);
      expect(r.checkedColumns).toEqual([
        'dt_nascimento',
        'dt_inicial_atendimento',
        'dt_final_atendimento',
        'nu_pressao_sistolica',
        'nu_pressao_diastolica',
        'ds_filtro_cids',
        'ds_filtro_ciaps',
        'ds_filtro_proced_avaliados',
        'ds_filtro_proced_solicitados',
      ]);
      // Hashed and dropped personal data are never checked, so their values never reach a record.
      expect(r.setAsideSql).not.toMatch(/nu_cpf_cidadao|nu_cns|nu_prontuario/);
      // Personal data kept in clear (birth date) is checked, but its value is not copied into the record.
      expect(r.setAsideSql).toContain(
        `THEN json_build_array('dt_nascimento', CASE WHEN isfinite("dt_nascimento") THEN 'date_out_of_range' ELSE 'date_infinite' END, NULL::text, octet_length("dt_nascimento"::text))`,
      );
      expect(r.setAsideSql).toContain(
        `THEN json_build_array('dt_inicial_atendimento', CASE WHEN isfinite("dt_inicial_atendimento") THEN 'timestamp_out_of_range' ELSE 'timestamp_infinite' END, "dt_inicial_atendimento"::text,`,
      );
    });
  });
});

describe('the COPY statement, whole (the one text sent to the source)', () => {
  const col = (dataType: string): SourceColumn => ({ dataType, maxChars: null, precision: null, scale: null });
  const [fact, dim] = TableRegistry.parse([
    {
      name: 'tb_fat_x',
      description: 'a small fact table',
      primaryKey: ['co_seq'],
      municipality: { kind: 'column', column: 'co_dim_municipio' },
      mode: { kind: 'window', column: 'co_dim_tempo', keyFormat: 'yyyymmdd' },
      columns: [
        { name: 'nu_cpf', type: 'text', pii: { kind: 'cpf', policy: 'hash' }, aliases: ['nu_cpf_antigo'] },
        { name: 'co_seq', type: 'bigint', aliases: ['co_seq_antigo'] },
        { name: 'nu_cns', type: 'text', pii: { kind: 'cns', policy: 'hash' } },
        { name: 'no_nome', type: 'text', pii: { kind: 'name', policy: 'drop' } },
        { name: 'nu_idade', type: 'smallint' },
        { name: 'ds_obs', type: 'text', whenMissing: 'null' },
        { name: 'co_dim_tempo', type: 'bigint' },
        { name: 'co_dim_municipio', type: 'bigint' },
      ],
    },
    {
      name: 'tb_x_dia',
      description: 'an installation table windowed on a date',
      primaryKey: ['co_seq'],
      municipality: { kind: 'installation' },
      mode: { kind: 'window', column: 'dt_registro', keyFormat: 'date' },
      columns: [
        { name: 'co_seq', type: 'bigint' },
        { name: 'dt_registro', type: 'date' },
      ],
    },
  ]) as [TableDef, TableDef];
  const ING = { ibge: '3509502', runId: 'daily-20261122' };
  const INGESTED = `'3509502'::text AS "_municipality_ibge", 'daily-20261122'::text AS "_run_id", (now() AT TIME ZONE 'UTC') AS "_extracted_at"`;

  it('an aliased primary key, an aliased hashed column, a NULL-filled one, a checked one, the municipality and a closed-open yyyymmdd window', () => {
    const source = new Map([
      ['co_seq_antigo', col('bigint')],
      ['nu_cpf_antigo', col('text')],
      ['nu_cns', col('character varying')],
      ['no_nome', col('text')],
      ['nu_idade', col('integer')],
      ['co_dim_tempo', col('bigint')],
      ['co_dim_municipio', col('bigint')],
    ]);
    const r = resolveColumns(fact, source);
    const bad = '("nu_idade" < -32768 OR "nu_idade" > 32767)';
    expect(r.setAsideSql).toBe(
      `CASE WHEN ${bad} THEN json_build_array(json_build_array("co_seq_antigo"::text), CASE WHEN ${bad} THEN json_build_array('nu_idade', 'integer_out_of_range', "nu_idade"::text, octet_length("nu_idade"::text)) END)::text END AS "_set_aside"`,
    );
    expect(copySql(fact, r, ['7', '-9'], { start: '2026-10-01', end: '2026-11-01' }, ING)).toBe(
      `COPY (SELECT ${r.setAsideSql}, "nu_cpf_antigo"::text AS "nu_cpf", "nu_cns"::text AS "nu_cns", "co_seq_antigo" AS "co_seq", ` +
        `CASE WHEN ${bad} THEN NULL ELSE "nu_idade" END AS "nu_idade", NULL::text AS "ds_obs", "co_dim_tempo", "co_dim_municipio", ${INGESTED} ` +
        `FROM public."tb_fat_x" WHERE "co_dim_municipio" IN (7, -9) AND "co_dim_tempo" >= 20261001 AND "co_dim_tempo" < 20261101) TO STDOUT WITH (FORMAT csv)`,
    );
    expect(r.columns).toEqual([
      { name: 'nu_cpf', type: 'text' },
      { name: 'nu_cns', type: 'text' },
      { name: 'co_seq', type: 'bigint' },
      { name: 'nu_idade', type: 'smallint' },
      { name: 'ds_obs', type: 'text' },
      { name: 'co_dim_tempo', type: 'bigint' },
      { name: 'co_dim_municipio', type: 'bigint' },
      { name: '_municipality_ibge', type: 'text' },
      { name: '_run_id', type: 'text' },
      { name: '_extracted_at', type: 'timestamp' },
    ]);
    expect(r.hashedCount).toBe(2);
    expect(r.checkedColumns).toEqual(['nu_idade']);
    expect(r.warnings).toEqual(['tb_fat_x.ds_obs is absent from this PEC version: filled with NULL']);
    expect(r.unknownColumns).toEqual([]);
    expect(r.typeDrift).toEqual([]);
  });

  it('an installation table: no municipality filter, and a date window as DATE literals', () => {
    const r = resolveColumns(dim, new Map([...['co_seq', 'dt_registro'].map((n) => [n, col(n === 'co_seq' ? 'bigint' : 'date')] as const)]));
    expect(copySql(dim, r, [], { start: '2026-10-01', end: '2026-11-01' }, ING)).toBe(
      `COPY (SELECT ${r.setAsideSql}, "co_seq", CASE WHEN ("dt_registro" < DATE '0001-01-01' OR "dt_registro" > DATE '9999-12-31') THEN NULL ELSE "dt_registro" END AS "dt_registro", ${INGESTED} ` +
        `FROM public."tb_x_dia" WHERE "dt_registro" >= DATE '2026-10-01' AND "dt_registro" < DATE '2026-11-01') TO STDOUT WITH (FORMAT csv)`,
    );
    const full = { ...dim, mode: { kind: 'full' as const } };
    const fr = resolveColumns(
      full,
      new Map([
        ['co_seq', col('bigint')],
        ['dt_registro', col('text')],
      ]),
    );
    expect(fr.setAsideSql).toBeNull();
    expect(copySql(full, fr, [], null, ING)).toBe(`COPY (SELECT "co_seq", "dt_registro", ${INGESTED} FROM public."tb_x_dia") TO STDOUT WITH (FORMAT csv)`);
  });

  it('refuses to build a COPY that would read the wrong rows', () => {
    const r = resolveColumns(fact, allColumns(fact));
    expect(() => copySql(fact, r, [], { start: '2026-10-01', end: '2026-11-01' }, ING)).toThrow('no municipality ids to filter on');
    expect(() => copySql(fact, r, ['7'], null, ING)).toThrow('tb_fat_x is windowed but no window was given');
  });

  it('a composite primary key and several checked columns: one JSON description per row, PostgreSQL syntax', () => {
    const [t] = TableRegistry.parse([
      {
        name: 'tb_fat_y',
        description: 'two key columns, two checks',
        primaryKey: ['co_b', 'co_a'],
        municipality: { kind: 'installation' },
        mode: { kind: 'full' },
        columns: [
          { name: 'nu_p', type: 'smallint' },
          { name: 'co_a', type: 'bigint' },
          { name: 'co_b', type: 'bigint', aliases: ['co_b_antigo'] },
          { name: 'nu_q', type: 'smallint' },
        ],
      },
    ]) as [TableDef];
    const r = resolveColumns(
      t,
      new Map([
        ['nu_p', col('integer')],
        ['co_a', col('bigint')],
        ['co_b_antigo', col('bigint')],
        ['nu_q', col('bigint')],
      ]),
    );
    const bad = (c: string) => `("${c}" < -32768 OR "${c}" > 32767)`;
    const item = (c: string) => `CASE WHEN ${bad(c)} THEN json_build_array('${c}', 'integer_out_of_range', "${c}"::text, octet_length("${c}"::text)) END`;
    expect(r.setAsideSql).toBe(
      `CASE WHEN ${bad('nu_p')} OR ${bad('nu_q')} THEN json_build_array(json_build_array("co_b_antigo"::text, "co_a"::text), ${item('nu_p')}, ${item('nu_q')})::text END AS "_set_aside"`,
    );
  });

  it('fails the table (class source_schema, so only that table) naming every absent column, hashed ones too', () => {
    const source = new Map([...allColumns(fact)].filter((n) => n !== 'nu_cns' && n !== 'nu_idade').map((n) => [n, col('bigint')]));
    source.delete('nu_cpf');
    source.set('nu_cpf_antigo', col('text'));
    let err: unknown;
    try {
      resolveColumns(fact, source);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TerminalError);
    expect((err as TerminalError).errorClass).toBe('source_schema');
    expect((err as Error).message).toBe('tb_fat_x: column(s) nu_cns, nu_idade absent from the source and the registry does not allow NULL-filling them');
  });

  it('reports no type drift when the source types are unknown (a bare name set)', () => {
    expect(resolveColumns(consultation, allColumns()).typeDrift).toEqual([]);
    expect(resolveColumns(fact, allColumns(fact)).typeDrift).toEqual([]);
  });

  it('takes only whole integers (any bigint, negative too) and plain ISO dates as literals', () => {
    for (const ok of ['0', '-1', '9223372036854775807', '-9223372036854775808', '1'.repeat(19)]) expect(intLiteral(ok)).toBe(ok);
    expect(intLiteral(42)).toBe('42');
    expect(intLiteral(-7)).toBe('-7');
    for (const bad of ['', '-', '1'.repeat(20), ' 1', '1 ', 'x1', '1x', '1.0', '+1', '--1'])
      expect(() => intLiteral(bad)).toThrow(`refusing a non-integer SQL literal: ${JSON.stringify(bad)}`);
    for (const bad of [' 2026-11-22', '2026-11-22 ', 'x2026-11-22', '2026-11-22x', '2026-1-22', '26-11-22', '2026-11-2', '2026/11/22', ''])
      expect(() => dateLiteral(bad)).toThrow(`refusing a non-date SQL literal: ${JSON.stringify(bad)}`);
  });

  it('takes only a 7-digit IBGE code and a lower-case run id as text literals', () => {
    const r = resolveColumns(getTable('tb_dim_cbo'), allColumns(getTable('tb_dim_cbo')));
    const cbo = getTable('tb_dim_cbo');
    for (const runId of ['abc', 'a'.repeat(63), '0-9', 'daily-20261122']) expect(copySql(cbo, r, [], null, { ibge: '3509502', runId })).toContain(`'${runId}'::text AS "_run_id"`);
    for (const runId of ['ab', 'a'.repeat(64), '-ab', 'Abc', 'abC', 'a_b', ' abc', 'abc '])
      expect(() => copySql(cbo, r, [], null, { ibge: '3509502', runId })).toThrow(`refusing an unchecked SQL text literal: ${JSON.stringify(runId)}`);
    for (const ibge of ['350950', '35095021', 'x3509502', '3509502x', ' 3509502'])
      expect(() => copySql(cbo, r, [], null, { ibge, runId: 'r-1' })).toThrow(`refusing an unchecked SQL text literal: ${JSON.stringify(ibge)}`);
  });
});
