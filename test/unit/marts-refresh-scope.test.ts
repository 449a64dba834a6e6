import { MARTS, REFRESHED_MART_NAMES, getMart, martDefinitionVersion, refreshTransaction } from '../../shared/marts/marts';
import { definitionVersion, inRefreshScope, recordRefreshState, setRefreshScope } from '../../shared/marts/refresh-scope';

/**
 * The incremental refresh's generated SQL (shared/marts/refresh-scope.ts); its behaviour on a real
 * warehouse is test/integration/marts-incremental.test.ts.
 */
describe('incremental refresh: scope and definition version', () => {
  it("a mart's definition version is a stable hash of its SQL in both engines: any change to either changes it", () => {
    const statements = (d: 'duckdb' | 'bigquery') => [`SELECT 1 FROM ${d}`];
    const v = definitionVersion(statements);
    expect(v).toMatch(/^[0-9a-f]{16}$/);
    expect(definitionVersion(statements)).toBe(v);
    expect(definitionVersion((d) => (d === 'duckdb' ? ['SELECT 2 FROM duckdb'] : statements(d)))).not.toBe(v);
    expect(definitionVersion((d) => (d === 'bigquery' ? ['SELECT 1 FROM bigquery '] : statements(d)))).not.toBe(v);
    // Statement boundaries count: two statements are not their concatenation.
    expect(definitionVersion(() => ['SELECT 1', 'SELECT 2'])).not.toBe(definitionVersion(() => ['SELECT 1SELECT 2']));
    const versions = REFRESHED_MART_NAMES.map((m) => martDefinitionVersion(getMart(m)));
    expect(new Set(versions).size).toBe(versions.length);
  });

  it('every refresh transaction sets its scope first, reads it in every statement, and appends its watermark last', () => {
    for (const mart of MARTS.filter((m) => !m.refreshedWith))
      for (const dialect of ['duckdb', 'bigquery'] as const) {
        const version = martDefinitionVersion(mart);
        const tx = refreshTransaction(mart, dialect);
        expect(tx[0]).toBe(setRefreshScope(dialect, mart.name, version));
        expect(tx.slice(-1)).toEqual(recordRefreshState(dialect, mart.name, version));
        const marker = dialect === 'duckdb' ? "list_contains(getvariable('refresh_scope'), " : ' IN UNNEST(refresh_scope)';
        for (const s of tx.slice(1)) expect({ mart: mart.name, dialect, statement: s.slice(0, 50), scoped: s.includes(marker) }).toMatchObject({ scoped: true });
      }
  });

  it('the two engines spell the scope their own way, from the same query', () => {
    expect(inRefreshScope('duckdb', 'x.municipality_ibge')).toBe("list_contains(getvariable('refresh_scope'), x.municipality_ibge)");
    expect(inRefreshScope('bigquery', 'x.municipality_ibge')).toBe('x.municipality_ibge IN UNNEST(refresh_scope)');
    const duck = setRefreshScope('duckdb', 'dim_team', 'abc');
    const bq = setRefreshScope('bigquery', 'dim_team', 'abc');
    expect(duck).toMatch(/^SET VARIABLE refresh_scope = \(SELECT COALESCE\(list\(municipality_ibge ORDER BY municipality_ibge\), \[\]\) FROM \(/);
    expect(bq).toMatch(/^SET refresh_scope = ARRAY\(SELECT municipality_ibge FROM \(/);
    for (const s of [duck, bq]) expect(s).toContain("WHERE mart = 'dim_team'");
  });

  it('no text from outside reaches the SQL: a mart name or version that is not a plain word is refused', () => {
    expect(() => setRefreshScope('bigquery', "x' OR TRUE --", 'abc')).toThrow(/refusing to inline/);
    expect(() => recordRefreshState('duckdb', 'dim_team', "abc'")).toThrow(/refusing to inline/);
  });
});
