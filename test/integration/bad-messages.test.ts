import { createTestDatabase, type TestDatabase } from '../support/pg';
import { testPipeline } from '../support/local-pipeline';

/**
 * Bad messages are refused at the handler's door with an error that names the field and the
 * problem, dead-lettered once (no retries), and never reach SQL: the source sees no session.
 */
describe('bad messages', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('badmsg', async (c) => {
      await c.query(`CREATE TABLE tb_dim_municipio (co_seq_dim_municipio bigint, co_ibge text)`);
    });
  });
  afterAll(async () => db.drop());

  const valid = { runId: 'daily-20261121', municipality: '3509502', window: { start: '2026-11-01', end: '2026-11-22' }, trigger: 'daily' };
  const cases: [string, unknown, RegExp][] = [
    ['wrong IBGE check digit', { ...valid, municipality: '3509501' }, /municipality: check digit of IBGE code "3509501" is wrong \(expected 2\)/],
    ['6-digit IBGE code', { ...valid, municipality: '350950' }, /municipality: must be a 7-digit IBGE code/],
    ['unknown table', { ...valid, tables: ['tb_fat_inexistente'] }, /tables\.0: unknown table "tb_fat_inexistente"/],
    ['extra field', { ...valid, host: '10.0.0.1' }, /Unrecognized key: "host"/],
    ['SQL in the run id', { ...valid, runId: "x'; DROP TABLE tb_dim_municipio; --" }, /runId: must be 3–63 characters/],
    ['SQL in a table name', { ...valid, tables: ['tb_dim_municipio; DELETE FROM tb_dim_municipio'] }, /tables\.0: unknown table/],
    ['SQL in a date', { ...valid, window: { start: "2026-01-01' OR '1'='1", end: '2026-11-22' } }, /window\.start: must be a date as YYYY-MM-DD/],
    ['impossible date', { ...valid, window: { start: '2026-02-30', end: '2026-11-22' } }, /window\.start: is not a real calendar date/],
    ['reversed window', { ...valid, window: { start: '2026-11-22', end: '2026-11-01' } }, /window\.end: window start must be before its end/],
    ['missing field', { runId: valid.runId, municipality: valid.municipality, trigger: 'daily' }, /window: /],
  ];

  it.each(cases)('rejects %s with a clear error, once, without touching the source', async (_name, payload, error) => {
    const p = await testPipeline([{ db, municipalities: [{ ibge: '3509502', name: 'Campinas' }] }]);
    try {
      p.bus.publishRaw('extractRequests', Buffer.from(JSON.stringify(payload)));
      await p.bus.idle();
      expect(p.bus.deadLetters).toHaveLength(1);
      const dl = p.bus.deadLetters[0]!;
      expect(dl.attributes.errorClass).toBe('invalid_message');
      expect(dl.attributes.errorMessage).toMatch(error);
      expect(dl.data.toString()).toBe(JSON.stringify(payload)); // parked as received, nothing lost
      expect(p.events.filter((e) => e.kind === 'extract_started')).toHaveLength(0);
      const logged = p.log.lines.map((l) => JSON.parse(l) as { severity: string; message: string; errorClass?: string });
      expect(logged.filter((l) => l.severity === 'ERROR' && l.errorClass === 'invalid_message')).toHaveLength(1);
    } finally {
      await p.dispose();
    }
  });

  it('rejects data that is not JSON', async () => {
    const p = await testPipeline([{ db, municipalities: [{ ibge: '3509502', name: 'Campinas' }] }]);
    try {
      p.bus.publishRaw('extractRequests', Buffer.from('{not json'));
      await p.bus.idle();
      expect(p.bus.deadLetters.map((d) => d.attributes.errorMessage)).toEqual(['message data is not JSON (9 bytes)']);
    } finally {
      await p.dispose();
    }
  });
});
