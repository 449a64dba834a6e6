import { PEC_TABLES, getTable } from '../../shared/tables/pec-tables';
import { copySql, dateLiteral, intLiteral, quoteIdent, resolveColumns } from '../../shared/extract/sql';

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
    expect(sql).toMatch(/^COPY \(SELECT "nu_cns"::text AS "nu_cns", "nu_cpf_cidadao"::text AS "nu_cpf_cidadao", /);
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
    expect(r.selectList).toContain('"nu_medicao_pressao_sistolica" AS "nu_pressao_sistolica"');
    expect(r.selectList).toContain('NULL::integer AS "nu_idade_gestacional_semanas"');
    expect(r.warnings).toEqual(['tb_fat_atendimento_individual.nu_idade_gestacional_semanas is absent from this PEC version: filled with NULL']);
    const noCbo = new Set([...allColumns()].filter((c) => c !== 'co_dim_cbo_1'));
    expect(() => resolveColumns(consultation, noCbo)).toThrow(/co_dim_cbo_1 absent from the source/);
  });
  it('every registry table builds a COPY', () => {
    for (const t of PEC_TABLES) {
      const sql = copySql(t, resolveColumns(t, allColumns(t)), ['2'], { start: '2026-01-01', end: '2026-02-01' }, { ibge: '3509502', runId: 'r-1' });
      expect(sql.startsWith('COPY (SELECT ')).toBe(true);
    }
  });
});
