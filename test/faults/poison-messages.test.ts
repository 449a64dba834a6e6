import type { TopicKey } from '../../shared/contracts/messages';
import { landedTables } from '../../shared/contracts/tables';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { createTestDatabase, testServerPort, type TestDatabase } from '../support/pg';
import { TcpProxy } from '../support/tcp-proxy';
import { FaultLab, findLeaks, logLines, secretsOf, type LabPipeline } from './support/harness';

/**
 * Poison messages on every subscription (extract, load, run requests): not JSON, the wrong shape,
 * a municipality the registry does not know, injection strings, connection details smuggled into a
 * message. Each one is handled exactly once (terminal: no redelivery, no retry storm), parked in
 * the dead-letter topic as received with its error class, and logged as one clear ERROR line; none
 * reaches a source (the fault proxy in front of the registry's database sees no statement).
 */
const CAMPINAS = { ibge: '3509502', name: 'Campinas' };
const UNKNOWN = '3304557'; // Rio de Janeiro: a valid IBGE code, not in this registry
const WINDOW = { start: '2026-11-01', end: '2026-11-22' };
const extract = { runId: 'daily-20261121', municipality: CAMPINAS.ibge, window: WINDOW, trigger: 'daily' };
const SMUGGLED_PASSWORD = 'hunter2-smuggled-password';

type Case = [name: string, topic: TopicKey, data: string | Buffer, errorClass: string, error: RegExp];
const json = (v: unknown) => JSON.stringify(v);
const cases: Case[] = [
  // extract requests
  ['extract: not JSON', 'extractRequests', '{not json', 'invalid_message', /^message data is not JSON \(9 bytes\)$/],
  ['extract: empty body', 'extractRequests', '', 'invalid_message', /^message has no data \(attributes only: /],
  ['extract: binary garbage', 'extractRequests', Buffer.from([0xff, 0xfe, 0x00, 0x9c, 0x7b]), 'invalid_message', /not JSON \(5 bytes\)/],
  ['extract: JSON null', 'extractRequests', 'null', 'invalid_message', /message rejected: \(message\)/],
  ['extract: JSON array', 'extractRequests', '[1,2]', 'invalid_message', /message rejected: \(message\)/],
  ['extract: a field missing', 'extractRequests', json({ ...extract, window: undefined }), 'invalid_message', /window: /],
  ['extract: a field of the wrong type', 'extractRequests', json({ ...extract, loadWhenDone: 'yes' }), 'invalid_message', /loadWhenDone: /],
  ['extract: unknown municipality', 'extractRequests', json({ ...extract, municipality: UNKNOWN }), 'unknown_municipality', /municipality 3304557 is not in the registry/],
  [
    'extract: connection details in the message',
    'extractRequests',
    json({ ...extract, connection: { host: '10.9.9.9', port: 5432, user: 'postgres', password: SMUGGLED_PASSWORD } }),
    'invalid_message',
    /Unrecognized key: "connection"/,
  ],
  ['extract: SQL in the run id', 'extractRequests', json({ ...extract, runId: "x'; DROP TABLE tb_fat_cidadao_pec; --" }), 'invalid_message', /runId: /],
  ['extract: SQL in the municipality', 'extractRequests', json({ ...extract, municipality: "3509502' OR '1'='1" }), 'invalid_message', /municipality: /],
  ['extract: SQL in a table name', 'extractRequests', json({ ...extract, tables: ['tb_dim_cbo; DELETE FROM tb_dim_cbo'] }), 'invalid_message', /tables\.0: unknown table/],
  ['extract: SQL in the window', 'extractRequests', json({ ...extract, window: { start: "2026-01-01' OR '1'='1", end: '2026-11-22' } }), 'invalid_message', /window\.start: /],
  ['extract: a quoted identifier in a table name', 'extractRequests', json({ ...extract, tables: ['tb_dim_cbo" WHERE 1=1; --'] }), 'invalid_message', /tables\.0: unknown table/],
  ['extract: prototype pollution', 'extractRequests', `{"__proto__":{"municipality":"${UNKNOWN}"},${json(extract).slice(1)}`, 'invalid_message', /Unrecognized key: "__proto__"/],
  ['extract: SQL in the continuation', 'extractRequests', json({ ...extract, continuation: { sequence: '1; DROP TABLE x' } }), 'invalid_message', /continuation\.sequence: /],
  // load requests
  ['load: not JSON', 'loadRequests', 'SELECT 1;', 'invalid_message', /not JSON \(9 bytes\)/],
  ['load: no municipality', 'loadRequests', json({ runId: 'daily-20261121', municipalities: [] }), 'invalid_message', /municipalities: /],
  [
    'load: unknown municipality',
    'loadRequests',
    json({ runId: 'daily-20261121', municipalities: [UNKNOWN] }),
    'invalid_message',
    /names no municipality extracted in run daily-20261121 \(no manifest for 3304557\)/,
  ],
  ['load: SQL in the run id', 'loadRequests', json({ runId: "daily'); DELETE FROM raw.tb_fat_cidadao_pec; --", municipalities: [CAMPINAS.ibge] }), 'invalid_message', /runId: /],
  [
    'load: SQL in a table name',
    'loadRequests',
    json({ runId: 'daily-20261121', municipalities: [CAMPINAS.ibge], tables: ['raw.tb_dim_cbo; DROP SCHEMA raw'] }),
    'invalid_message',
    /tables\.0: unknown table/,
  ],
  // run requests
  ['run: not JSON', 'runRequests', '<xml/>', 'invalid_message', /not JSON \(6 bytes\)/],
  ['run: unknown trigger', 'runRequests', json({ trigger: 'nightly' }), 'invalid_message', /trigger: /],
  ['run: unknown municipality', 'runRequests', json({ trigger: 'rerun', municipalities: [UNKNOWN] }), 'unknown_municipality', /not in the registry .*: 3304557/],
  ['run: SQL in the cohort', 'runRequests', json({ trigger: 'daily', cohort: "pilot'; DROP TABLE ops.runs; --" }), 'invalid_message', /cohort: /],
  ['run: SQL in the run id', 'runRequests', json({ trigger: 'backfill', runId: 'x" OR 1=1 --', municipalities: [CAMPINAS.ibge] }), 'invalid_message', /runId: /],
  [
    'run: connection details',
    'runRequests',
    json({ trigger: 'rerun', municipalities: [CAMPINAS.ibge], host: 'evil.example.com', password: SMUGGLED_PASSWORD }),
    'invalid_message',
    /Unrecognized keys: "host", "password"/,
  ],
];
const HANDLER: Record<string, string> = { extractRequests: 'extract', loadRequests: 'load', runRequests: 'fan-out' };

describe('poison messages', () => {
  const lab = new FaultLab();
  let db: TestDatabase;
  let proxy: TcpProxy;
  let p: LabPipeline;
  beforeAll(async () => {
    db = await createTestDatabase('faults_poison', async (c) => {
      await c.query(`CREATE TABLE tb_dim_municipio (co_seq_dim_municipio bigint, co_ibge text)`);
    });
    proxy = new TcpProxy(testServerPort());
    await proxy.up();
    p = await lab.pipeline([{ db, municipalities: [CAMPINAS], port: proxy.port }]);
  });
  afterAll(async () => {
    await p?.dispose();
    await proxy?.down();
    await db?.drop();
  });

  it.each(cases)('%s: handled once, dead-lettered as received with its class, one clear ERROR line', async (_name, topic, data, errorClass, error) => {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const before = p.log.lines.length;
    const messageId = p.bus.publishRaw(topic, bytes);
    await p.drain();
    // Exactly one delivery: a terminal failure is acknowledged, never redelivered.
    expect(p.deliveries.filter((d) => d.messageId === messageId).map((d) => [d.subscription, d.attempt])).toEqual([[HANDLER[topic], 1]]);
    // Parked in the dead-letter topic as received, with why.
    const parked = p.bus.deadLetters.filter((d) => d.attributes.originalMessageId === messageId);
    expect(parked).toHaveLength(1);
    expect(parked[0]!.data.equals(bytes)).toBe(true);
    expect(parked[0]!.attributes).toMatchObject({ errorClass, sourceHandler: HANDLER[topic] });
    expect(parked[0]!.attributes.errorMessage).toMatch(error);
    // One ERROR line, naming the message, the class and the problem; no WARNING (nothing to retry).
    const lines = logLines({ log: { lines: p.log.lines.slice(before) } }).filter((l) => l.messageId === messageId);
    expect(lines.filter((l) => l.severity === 'ERROR').map((l) => [l.errorClass, l.handler, l.message])).toEqual([
      [errorClass, HANDLER[topic], `${HANDLER[topic]} failed (terminal): dead-lettered, not retried`],
    ]);
    expect(lines.filter((l) => l.severity === 'ERROR')[0]!.err).toMatch(error);
    expect(lines.filter((l) => l.severity === 'WARNING')).toEqual([]);
  });

  it('no poison message reached a source, planned a run, or touched the warehouse; no retry storm', async () => {
    expect(proxy.statements).toEqual([]);
    expect(p.deliveries).toHaveLength(cases.length);
    expect(p.deliveries.every((d) => d.attempt === 1)).toBe(true);
    expect(p.bus.deadLetters).toHaveLength(cases.length);
    expect((await p.store.list('runs/')).filter((k) => k.endsWith('plan.json') || k.includes('/manifests/') || k.includes('/tables/'))).toEqual([]);
    for (const t of PEC_TABLES) expect((await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw."${t.name}"`))[0]).toEqual({ n: 0 });
    const [slices] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM ops.loaded_slices`);
    expect(slices!.n).toBe(0);
    // The tables a hostile string named are all still there (DuckDB side).
    const [raw] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_schema = 'raw'`);
    expect(raw!.n).toBe(landedTables(PEC_TABLES).length);
  });

  it('no secret in any log line of this file, including the password smuggled into a message', async () => {
    await p.dispose(); // moves its lines into the lab
    p = await lab.pipeline([{ db, municipalities: [CAMPINAS], port: proxy.port }]);
    expect(lab.logLines.length).toBeGreaterThanOrEqual(cases.length);
    expect(findLeaks([['logs', lab.logLines.join('\n')]], [...secretsOf([db]), SMUGGLED_PASSWORD])).toEqual([]);
  });
});
