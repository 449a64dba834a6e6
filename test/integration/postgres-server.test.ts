import { Client } from 'pg';

describe('embedded PostgreSQL started by global setup', () => {
  it('answers and uses md5 password auth like the PEC server', async () => {
    const client = new Client({ connectionString: process.env.PIPELINE_TEST_PG_URL });
    await client.connect();
    const { rows } = await client.query<{ v: string }>('select current_setting($1) as v', ['server_version_num']);
    await client.end();
    expect(Number(rows[0]!.v)).toBeGreaterThanOrEqual(100000);
  });
});
