import { Client } from 'pg';
import { CATALOGUE_SQL } from '../../shared/extract/source';
import { createTestDatabase, type TestDatabase } from '../support/pg';

/**
 * The extractor reads the source's columns from pg_catalog (CATALOGUE_SQL) instead of the
 * information_schema.columns view, to save the view's planning in every new backend. It must say
 * exactly what the view says, as the reader role sees it, for every kind of column a PEC has.
 */
const VIEW_SQL = `SELECT table_name, column_name, data_type, character_maximum_length AS chars,
    CASE WHEN data_type = 'numeric' THEN numeric_precision END AS precision, CASE WHEN data_type = 'numeric' THEN numeric_scale END AS scale
  FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY($1::text[]) ORDER BY table_name, ordinal_position`;

describe('source catalogue query', () => {
  let db: TestDatabase;
  let reader: Client;
  const tables = ['tb_kinds', 'tb_partly_granted', 'tb_not_granted', 'vw_kinds', 'tb_absent'];

  beforeAll(async () => {
    db = await createTestDatabase('catalogue', async (c) => {
      await c.query(`CREATE DOMAIN dm_code AS varchar(7)`);
      await c.query(`CREATE DOMAIN dm_money AS numeric(12, 2)`);
      await c.query(`CREATE TYPE en_kind AS ENUM ('a', 'b')`);
      await c.query(`CREATE TABLE tb_kinds (
        co_seq bigint, nu_int integer, nu_small smallint, nu_num numeric, nu_num_ps numeric(10, 3), nu_num_p numeric(5),
        ds_vc varchar(255), ds_vc_free varchar, ds_char char(2), ds_text text, st_bool boolean, dt_date date,
        dt_ts timestamp, dt_tstz timestamptz(3), nu_real real, nu_double double precision, ar_int integer[], ar_text text[],
        co_dom dm_code, vl_dom dm_money, tp_enum en_kind, bt_bits bit(4), bt_var varbit(9), js_json jsonb, by_bytes bytea, dropped int)`);
      await c.query(`ALTER TABLE tb_kinds DROP COLUMN dropped`);
      await c.query(`ALTER TABLE tb_kinds ADD COLUMN ds_after varchar(3)`);
      await c.query(`CREATE TABLE tb_partly_granted (co_seq bigint, ds_secret text, ds_public varchar(9))`);
      await c.query(`CREATE TABLE tb_not_granted (co_seq bigint)`);
      await c.query(`CREATE VIEW vw_kinds AS SELECT co_seq, nu_num_ps, ds_vc FROM tb_kinds`);
    });
    // Column-level grants: the role sees two of three columns, and nothing of tb_not_granted.
    await db.client.query(`REVOKE ALL ON tb_partly_granted, tb_not_granted FROM ${db.readerRole}`);
    await db.client.query(`GRANT SELECT (co_seq, ds_public) ON tb_partly_granted TO ${db.readerRole}`);
    reader = new Client({ host: new URL(db.url).hostname, port: Number(new URL(db.url).port), database: db.name, user: db.readerRole, password: db.readerPassword });
    await reader.connect();
  });
  afterAll(async () => {
    await reader?.end();
    await db?.drop();
  });

  it('returns the rows information_schema.columns returns, value for value, as the reader role', async () => {
    const view = (await reader.query(VIEW_SQL, [tables])).rows;
    const catalogue = (await reader.query(CATALOGUE_SQL, [tables])).rows;
    expect(view.length).toBe(26 + 2 + 3);
    expect(catalogue).toEqual(view);
    // The test covers what it claims: kinds that differ in data_type, length, precision and grants.
    const of = (t: string, c: string) => catalogue.find((r) => r.table_name === t && r.column_name === c);
    expect(of('tb_kinds', 'nu_num_ps')).toMatchObject({ data_type: 'numeric', precision: 10, scale: 3 });
    expect(of('tb_kinds', 'nu_num')).toMatchObject({ data_type: 'numeric', precision: null, scale: null });
    expect(of('tb_kinds', 'ds_vc')).toMatchObject({ data_type: 'character varying', chars: 255 });
    expect(of('tb_kinds', 'co_dom')).toMatchObject({ data_type: 'character varying', chars: 7 });
    expect(of('tb_kinds', 'vl_dom')).toMatchObject({ data_type: 'numeric', precision: 12, scale: 2 });
    expect(of('tb_kinds', 'ar_int')).toMatchObject({ data_type: 'ARRAY' });
    expect(of('tb_kinds', 'tp_enum')).toMatchObject({ data_type: 'USER-DEFINED' });
    expect(of('tb_kinds', 'dropped')).toBeUndefined();
    expect(catalogue.filter((r) => r.table_name === 'tb_partly_granted').map((r) => r.column_name)).toEqual(['co_seq', 'ds_public']);
    expect(catalogue.some((r) => r.table_name === 'tb_not_granted')).toBe(false);
  });

  it('agrees for the owner too (who sees every column)', async () => {
    const view = (await db.client.query(VIEW_SQL, [tables])).rows;
    expect((await db.client.query(CATALOGUE_SQL, [tables])).rows).toEqual(view);
    expect(view.some((r) => r.table_name === 'tb_not_granted')).toBe(true);
  });
});
