import { ExtractSettingsSchema } from '../../shared/contracts/config';
import { readSourceFacts, SourceSession } from '../../shared/extract/source';
import { registryFor } from '../support/local-pipeline';
import { createTestDatabase, type TestDatabase } from '../support/pg';

/**
 * What the extractor learns about a source before copying (snapshot time, the municipality's ids,
 * PEC version, DW freshness, columns) comes from at most three statements; the PEC version and the
 * DW freshness come from tables a source may lack, and their absence is a fact (null), not an error.
 */
const M = { ibge: '3509502', name: 'Campinas', uf: 'SP' };

describe('readSourceFacts', () => {
  let db: TestDatabase;
  const facts = async () => {
    const [entry] = registryFor([{ db, municipalities: [M] }]).municipalities;
    const session = await SourceSession.open(entry!, db.readerPassword, { ...ExtractSettingsSchema.parse({}), applicationName: 'source-facts-test' });
    try {
      return await readSourceFacts(session, M.ibge, ['tb_x', 'tb_absent']);
    } finally {
      await session.close();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('source_facts', async (c) => {
      await c.query(`CREATE TABLE tb_dim_municipio (co_seq_dim_municipio bigint, co_ibge varchar(7))`);
      // SUS systems often store the 6-digit code: both forms belong to the municipality.
      await c.query(`INSERT INTO tb_dim_municipio VALUES (12, '3509502'), (3, '350950'), (7, '3550308')`);
      await c.query(`CREATE TABLE tb_migracao (ds_filename text)`);
      await c.query(`INSERT INTO tb_migracao VALUES ('db/v5.2.9/a.sql'), ('db/v5.2.10/b.sql'), ('db/v5.2.10/c.sql'), ('other.sql')`);
      await c.query(`CREATE TABLE tb_relatorio_processamento (dt_processamento timestamp)`);
      await c.query(`INSERT INTO tb_relatorio_processamento VALUES ('2026-11-19 01:00:00'), ('2026-11-20 03:04:05.678')`);
      await c.query(`CREATE TABLE tb_x (co_seq bigint, ds_nome varchar(20))`);
    });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('reads the snapshot time, the ids of both code forms, the newest PEC version, the DW freshness and the columns', async () => {
    const f = await facts();
    expect(f.snapshotAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(f.municipioIds).toEqual(['12', '3']);
    expect(f.pecVersion).toBe('5.2.10');
    expect(f.dwProcessedAt).toBe('2026-11-20T03:04:05');
    expect([...f.columnsByTable.keys()]).toEqual(['tb_x']);
    expect([...f.columnsByTable.get('tb_x')!.entries()]).toEqual([
      ['co_seq', { dataType: 'bigint', maxChars: null, precision: null, scale: null }],
      ['ds_nome', { dataType: 'character varying', maxChars: 20, precision: null, scale: null }],
    ]);
  });

  it('a source without tb_migracao or tb_relatorio_processamento has no PEC version or DW freshness: null, not an error', async () => {
    await db.client.query('ALTER TABLE tb_migracao RENAME TO tb_migracao_gone');
    let f = await facts();
    expect({ pecVersion: f.pecVersion, dwProcessedAt: f.dwProcessedAt }).toEqual({ pecVersion: null, dwProcessedAt: '2026-11-20T03:04:05' });
    await db.client.query('ALTER TABLE tb_relatorio_processamento RENAME TO tb_relatorio_gone');
    f = await facts();
    expect({ pecVersion: f.pecVersion, dwProcessedAt: f.dwProcessedAt, ids: f.municipioIds }).toEqual({ pecVersion: null, dwProcessedAt: null, ids: ['12', '3'] });
    await db.client.query('ALTER TABLE tb_migracao_gone RENAME TO tb_migracao');
    f = await facts();
    expect({ pecVersion: f.pecVersion, dwProcessedAt: f.dwProcessedAt }).toEqual({ pecVersion: '5.2.10', dwProcessedAt: null });
  });
});
