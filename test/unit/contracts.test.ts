import { z } from 'zod';
import { ExtractRequest, LoadRequest, RunRequest, TOPIC_SCHEMAS } from '../../shared/contracts/messages';
import { DateWindow, IsoDate, RunId, SqlIdentifier } from '../../shared/contracts/identifiers';
import { Manifest, StagedPart } from '../../shared/contracts/manifest';
import { MessagePublishedData } from '../../shared/contracts/pubsub';
import { ackDeadlineSeconds, DELIVERY, FUNCTIONS } from '../../shared/contracts/functions';
import { landedColumns, landedTables, pinnedNumeric, SET_ASIDE_TABLE, TableDef } from '../../shared/contracts/tables';
import { IbgeCode, ibgeCheckDigit, isValidIbge } from '../../shared/contracts/ibge';
import { ConfigError, ENV, ENV_HELP, ExtractSettingsSchema, parseConfig } from '../../shared/contracts/config';
import { formatIssues, issueMessage } from '../../shared/contracts/issues';

/**
 * The message, identifier and manifest contracts decide what a handler accepts: each case below is
 * one thing a message could get wrong, and the contract's answer (the examples are written out here,
 * not derived from the schemas).
 */

const window = { start: '2026-10-18', end: '2026-11-23' };
const extract = { runId: 'daily-20261122', municipality: '3550308', window, trigger: 'daily' };
const issue = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  r.error ? r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join(' | ') : 'accepted';

describe('identifiers', () => {
  it.each(['daily-20261122', 'rerun-3550308-20261122t101500', 'a0b', '0ab', 'a'.repeat(63)])('run id %s is accepted', (id) => {
    expect(RunId.safeParse(id).success).toBe(true);
  });
  it.each(['ab', '-abc', 'Daily-1', 'daily_1', 'daily 1', 'a'.repeat(64), 'x/../y', ''])('run id %j is refused', (id) => {
    expect(RunId.safeParse(id).success).toBe(false);
  });
  it('SQL identifiers: lower case, a letter or _ first, at most 63 characters', () => {
    for (const ok of ['co_seq', '_x', 'a1', 'a'.repeat(63)]) expect(SqlIdentifier.safeParse(ok).success).toBe(true);
    for (const bad of ['1a', 'Co', 'a-b', 'a"b', 'a'.repeat(64), '', 'x y']) expect(SqlIdentifier.safeParse(bad).success).toBe(false);
  });
  it('dates: YYYY-MM-DD and a real calendar day (leap years included)', () => {
    for (const ok of ['2026-11-22', '2024-02-29', '2000-02-29', '0001-01-01']) expect(IsoDate.safeParse(ok).success).toBe(true);
    expect(issue(IsoDate.safeParse('2026-02-29'))).toBe(': is not a real calendar date');
    expect(issue(IsoDate.safeParse('2026-13-01'))).toBe(': is not a real calendar date');
    expect(issue(IsoDate.safeParse('1900-02-29'))).toBe(': is not a real calendar date');
    for (const bad of ['2026-1-22', '2026-11-22T00:00:00Z', ' 2026-11-22', '2026-11-22 ', '20261122'])
      expect(issue(IsoDate.safeParse(bad))).toMatch(/^: must be a date as YYYY-MM-DD/);
  });
  it('windows are half-open: start before end; one day is [d, d+1); an empty or reversed window is refused on its end', () => {
    expect(DateWindow.safeParse({ start: '2026-11-22', end: '2026-11-23' }).success).toBe(true);
    expect(issue(DateWindow.safeParse({ start: '2026-11-22', end: '2026-11-22' }))).toBe('end: window start must be before its end (the end is exclusive)');
    expect(issue(DateWindow.safeParse({ start: '2026-11-23', end: '2026-11-22' }))).toMatch(/^end: /);
    expect(DateWindow.safeParse({ start: '2026-11-22', end: '2026-11-23', days: 1 }).success).toBe(false);
  });
  it('IBGE check digit: weights 1,2,1,… with digit sums, then 10 − sum mod 10', () => {
    // 355030: 3·1 + 5·2=10→1 + 5·1 + 0 + 3·1 + 0 = 12 → 8; 530010: 5 + 3·2=6 + 0 + 0 + 1 + 0 = 12 → 8.
    expect(ibgeCheckDigit('355030')).toBe(8);
    expect(ibgeCheckDigit('530010')).toBe(8);
    // sum ≡ 0 (mod 10) → digit 0, not 10: 100000 + ... : 1 + 0 + 0 + 0 + 0 + 9·2=18→9 = 10 → 0
    expect(ibgeCheckDigit('100009')).toBe(0);
    expect(isValidIbge('1000090')).toBe(true);
    expect(isValidIbge('3550308')).toBe(true);
    expect(isValidIbge('3550309')).toBe(false);
    for (const bad of ['355030', '35503080', '355030a', ' 3550308', '3550308\n']) expect(isValidIbge(bad)).toBe(false);
    // The schema: one problem per bad code, the length problem alone when it is not 7 digits.
    for (const bad of ['35503080', 'x3550308', '3550308x', '355030'])
      expect(IbgeCode.safeParse(bad).error?.issues.map((i) => i.message)).toEqual([expect.stringMatching(/^must be a 7-digit IBGE code/)]);
    expect(IbgeCode.safeParse('3550309').error?.issues.map((i) => i.message)).toEqual(['check digit of IBGE code "3550309" is wrong (expected 8)']);
  });
});

describe('ExtractRequest', () => {
  it('accepts the documented example and defaults loadWhenDone to false', () => {
    expect(ExtractRequest.parse(extract)).toEqual({ ...extract, loadWhenDone: false });
  });
  it('refuses unknown fields (a typo never silently changes behaviour), also in the continuation', () => {
    expect(issue(ExtractRequest.safeParse({ ...extract, loadWhenDon: true }))).toMatch(/loadWhenDon/);
    expect(ExtractRequest.safeParse({ ...extract, continuation: { sequence: 1, from: 'x' } }).success).toBe(false);
  });
  it('continuations count from 1 to 1000', () => {
    expect(ExtractRequest.safeParse({ ...extract, continuation: { sequence: 1 } }).success).toBe(true);
    expect(ExtractRequest.safeParse({ ...extract, continuation: { sequence: 1000 } }).success).toBe(true);
    for (const sequence of [0, 1001, 1.5]) expect(ExtractRequest.safeParse({ ...extract, continuation: { sequence } }).success).toBe(false);
  });
  it('tables: registry names only, at least one, none repeated', () => {
    expect(ExtractRequest.parse({ ...extract, tables: ['tb_fat_cidadao_pec'] }).tables).toEqual(['tb_fat_cidadao_pec']);
    expect(issue(ExtractRequest.safeParse({ ...extract, tables: ['tb_nope'] }))).toBe('tables.0: unknown table "tb_nope"');
    expect(ExtractRequest.safeParse({ ...extract, tables: [] }).success).toBe(false);
    expect(issue(ExtractRequest.safeParse({ ...extract, tables: ['tb_fat_cidadao_pec', 'tb_fat_cidadao_pec'] }))).toBe('tables: must not repeat an entry');
  });
  it('refuses an unknown trigger, a bad municipality and a bad window', () => {
    expect(ExtractRequest.safeParse({ ...extract, trigger: 'weekly' }).success).toBe(false);
    expect(issue(ExtractRequest.safeParse({ ...extract, municipality: '3550307' }))).toMatch(/^municipality: check digit/);
    expect(issue(ExtractRequest.safeParse({ ...extract, window: { start: '2026-11-23', end: '2026-11-23' } }))).toMatch(/^window\.end: /);
  });
});

describe('LoadRequest', () => {
  const load = { runId: 'daily-20261122', municipalities: ['3550308', '3304557'] };
  it('accepts the documented example', () => {
    expect(LoadRequest.parse(load)).toEqual(load);
  });
  it('refuses unknown fields, an empty or repeated municipality list', () => {
    expect(issue(LoadRequest.safeParse({ ...load, municipality: '3550308' }))).toMatch(/municipality/);
    expect(LoadRequest.safeParse({ ...load, municipalities: [] }).success).toBe(false);
    expect(issue(LoadRequest.safeParse({ ...load, municipalities: ['3550308', '3550308'] }))).toBe('municipalities: must not repeat an entry');
  });
});

describe('RunRequest', () => {
  it('defaults to a daily run published by fan-out', () => {
    expect(RunRequest.parse({})).toEqual({ trigger: 'daily', dispatch: 'fan-out' });
    expect(RunRequest.parse({ trigger: 'rerun', municipalities: ['3550308'], runDate: '2026-11-22', dispatch: 'caller' })).toEqual({
      trigger: 'rerun',
      municipalities: ['3550308'],
      runDate: '2026-11-22',
      dispatch: 'caller',
    });
  });
  it('cohorts are lower-case names of at most 40 characters', () => {
    expect(RunRequest.safeParse({ cohort: 'wave-2' }).success).toBe(true);
    expect(RunRequest.safeParse({ cohort: 'a'.repeat(40) }).success).toBe(true);
    for (const cohort of ['Wave', 'wave 2', 'a'.repeat(41), '', "x'; drop"]) expect(RunRequest.safeParse({ cohort }).success).toBe(false);
  });
  it('refuses unknown fields and unknown dispatch modes', () => {
    expect(RunRequest.safeParse({ date: '2026-11-22' }).success).toBe(false);
    expect(RunRequest.safeParse({ dispatch: 'workflow' }).success).toBe(false);
  });
  it('each topic validates with its own message schema', () => {
    expect(TOPIC_SCHEMAS.extractRequests.safeParse(extract).success).toBe(true);
    expect(TOPIC_SCHEMAS.loadRequests.safeParse(extract).success).toBe(false);
    expect(TOPIC_SCHEMAS.runRequests.safeParse({ trigger: 'backfill' }).success).toBe(true);
  });
});

describe('Manifest', () => {
  const part = { key: 'runs/r/tables/t/3550308/a/part-00000.csv.gz', rows: 3, bytes: 120, sha256: 'a'.repeat(64) };
  const table = {
    table: 'tb_x',
    window,
    columns: [{ name: 'co_x', type: 'bigint' }],
    parts: [part],
    rows: 3,
    sourceRows: 3,
    csvBytes: 300,
    seconds: 0.5,
    extractedAt: '2026-11-22T03:00:00.123456Z',
    warnings: [],
  };
  const manifest = {
    schemaVersion: 1,
    runId: 'daily-20261122',
    municipality: '3550308',
    attempt: 'a1b2-c3',
    extractedAt: '2026-11-22T03:00:00Z',
    finishedAt: '2026-11-22T03:01:00-03:00',
    pecVersion: null,
    dwProcessedAt: null,
    tables: [table],
    failedTables: [],
  };
  it('accepts a complete manifest (full refresh: a null window; timestamps with an offset; a failed table)', () => {
    expect(Manifest.parse(manifest)).toEqual(manifest);
    const offsets = { ...manifest, extractedAt: '2026-11-22T00:00:00-03:00', tables: [{ ...table, extractedAt: '2026-11-22T00:00:00.5-03:00' }] };
    expect(Manifest.parse(offsets)).toEqual(offsets);
    const failed = { ...manifest, failedTables: [{ table: 'tb_y', errorClass: 'source_schema', message: 'tb_y: column(s) co_z absent' }] };
    expect(Manifest.parse(failed)).toEqual(failed);
    expect(Manifest.safeParse({ ...manifest, failedTables: [{ table: 'tb_y', errorClass: 'x' }] }).success).toBe(false);
    expect(Manifest.safeParse({ ...manifest, tables: [{ ...table, window: null }] }).success).toBe(true);
  });
  it('a part SHA-256 is 64 lower-case hex characters; sizes are whole and not negative; the key is not empty', () => {
    expect(StagedPart.safeParse(part).success).toBe(true);
    for (const sha256 of ['A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), 'g'.repeat(64), '']) expect(StagedPart.safeParse({ ...part, sha256 }).success).toBe(false);
    for (const bad of [{ rows: -1 }, { rows: 1.5 }, { bytes: -1 }, { key: '' }, { extra: 1 }]) expect(StagedPart.safeParse({ ...part, ...bad }).success).toBe(false);
    expect(StagedPart.safeParse({ ...part, rows: 0, bytes: 0 }).success).toBe(true);
  });
  it('refuses another schema version, a bad attempt id, timestamps without offset, unknown fields', () => {
    expect(Manifest.safeParse({ ...manifest, schemaVersion: 2 }).success).toBe(false);
    for (const attempt of ['A1', 'a_b', '', 'a'.repeat(81)]) expect(Manifest.safeParse({ ...manifest, attempt }).success).toBe(false);
    expect(Manifest.safeParse({ ...manifest, attempt: 'a'.repeat(80) }).success).toBe(true);
    expect(Manifest.safeParse({ ...manifest, extractedAt: '2026-11-22 03:00:00' }).success).toBe(false);
    expect(Manifest.safeParse({ ...manifest, signature: 'x' }).success).toBe(false);
    expect(Manifest.safeParse({ ...manifest, tables: [{ ...table, rows: -1 }] }).success).toBe(false);
    expect(Manifest.safeParse({ ...manifest, tables: [{ ...table, seconds: -0.1 }] }).success).toBe(false);
  });
});

describe('Pub/Sub push body', () => {
  it('reads the message and the delivery attempt; a non-integer attempt is refused', () => {
    const body = { message: { data: 'e30=', attributes: { a: 'b' }, messageId: '1' }, subscription: 's', deliveryAttempt: 3 };
    expect(MessagePublishedData.parse(body)).toEqual(body);
    expect(MessagePublishedData.safeParse({ ...body, deliveryAttempt: 1.5 }).success).toBe(false);
    expect(MessagePublishedData.safeParse({ message: { attributes: { a: 1 } } }).success).toBe(false);
    expect(MessagePublishedData.safeParse({}).success).toBe(false);
  });
});

describe('configuration from the environment', () => {
  const keys = ['partMaxBytes', 'gzipLevel'] as const;
  const parse = (env: Record<string, string | undefined>) => parseConfig(ExtractSettingsSchema.pick({ partMaxBytes: true, gzipLevel: true }), keys, env);
  const problems = (env: Record<string, string | undefined>) => {
    try {
      parse(env);
      return [];
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).problems;
    }
  };
  it('an unset or empty variable takes the default; a set one is coerced', () => {
    expect(parse({})).toEqual({ partMaxBytes: 128 * 1024 * 1024, gzipLevel: 1 });
    expect(parse({ [ENV.partMaxBytes]: '', [ENV.gzipLevel]: '6' })).toEqual({ partMaxBytes: 128 * 1024 * 1024, gzipLevel: 6 });
  });
  it('parts may be up to 4 GiB', () => {
    expect(parse({ [ENV.partMaxBytes]: String(4 * 1024 ** 3) }).partMaxBytes).toBe(4 * 1024 ** 3);
    expect(problems({ [ENV.partMaxBytes]: String(4 * 1024 ** 3 + 1) })).toEqual([expect.stringMatching(/^EXTRACT_PART_MAX_BYTES: /)]);
    expect(problems({ [ENV.partMaxBytes]: '1023' })).toEqual([expect.stringMatching(/^EXTRACT_PART_MAX_BYTES: /)]);
  });
  it('a value that is set but not a number is named as invalid, not as missing', () => {
    const [p] = problems({ [ENV.gzipLevel]: 'fast' });
    expect(p).toMatch(/^EXTRACT_GZIP_LEVEL: /);
    expect(p).not.toMatch(/required/);
  });
  it('every variable has its meaning written for the generated docs', () => {
    expect(Object.keys(ENV_HELP).sort()).toEqual(Object.keys(ENV).sort());
    for (const help of Object.values(ENV_HELP)) expect(help.length).toBeGreaterThan(5);
  });
});

describe('delivery', () => {
  it("a push waits longer than its function may run, capped at Pub/Sub's 600 s", () => {
    // fan-out runs 120 s: 120 + 30; extract and load run 540 s: 570.
    expect(ackDeadlineSeconds('fanOut')).toBe(150);
    expect(ackDeadlineSeconds('extract')).toBe(570);
    for (const key of ['fanOut', 'extract', 'load'] as const) {
      expect(ackDeadlineSeconds(key)).toBeGreaterThan(FUNCTIONS[key].timeoutSeconds);
      expect(ackDeadlineSeconds(key)).toBeLessThanOrEqual(600);
    }
  });
  it('extract keeps retrying through a whole daily run of 429s at its instance cap', () => {
    // 650 municipalities, maxInstances at a time, each up to its timeout: the last one waits that long,
    // and Pub/Sub retries at most every maximumBackoffSeconds.
    const queueSeconds = Math.ceil(650 / FUNCTIONS.extract.maxInstances) * FUNCTIONS.extract.timeoutSeconds;
    expect(DELIVERY.maxDeliveryAttempts.extract).toBeGreaterThan(queueSeconds / DELIVERY.maximumBackoffSeconds);
  });
});

describe('landed columns and tables (what the warehouses create)', () => {
  const t = TableDef.parse({
    name: 'tb_people',
    description: 'people, for the landed-column contract',
    primaryKey: ['co_seq'],
    municipality: { kind: 'installation' },
    mode: { kind: 'full' },
    columns: [
      { name: 'co_seq', type: 'bigint' },
      { name: 'nu_cpf', type: 'text', pii: { kind: 'cpf', policy: 'hash' } },
      { name: 'nu_cns_num', type: 'numeric', precision: 15, scale: 0, pii: { kind: 'cns', policy: 'hash' } },
      { name: 'no_pessoa', type: 'text', pii: { kind: 'name', policy: 'drop' } },
      { name: 'dt_nascimento', type: 'date', pii: { kind: 'birth_date', policy: 'keep', reason: 'age bands of the indicators need it' } },
      { name: 'nu_peso', type: 'numeric', precision: 5, scale: 1 },
      { name: 'nu_altura', type: 'numeric' },
    ],
  });
  it('dropped personal data never lands; hashed lands as text (never pinned); kept keeps its type and its tag; a pin lands on plain numerics', () => {
    expect(landedColumns(t)).toEqual([
      { name: 'co_seq', type: 'bigint' },
      { name: 'nu_cpf', type: 'text', pii: { kind: 'cpf', policy: 'hash' } },
      { name: 'nu_cns_num', type: 'text', pii: { kind: 'cns', policy: 'hash' } },
      { name: 'dt_nascimento', type: 'date', pii: { kind: 'birth_date', policy: 'keep' } },
      { name: 'nu_peso', type: 'numeric', numeric: { precision: 5, scale: 1 } },
      { name: 'nu_altura', type: 'numeric' },
    ]);
  });
  it('a pin needs a numeric column with both precision and scale', () => {
    expect(pinnedNumeric({ type: 'numeric', precision: 5, scale: 1 })).toEqual({ precision: 5, scale: 1 });
    expect(pinnedNumeric({ type: 'numeric', precision: 5, scale: 0 })).toEqual({ precision: 5, scale: 0 });
    expect(pinnedNumeric({ type: 'numeric', precision: 5 })).toBeUndefined();
    expect(pinnedNumeric({ type: 'numeric', scale: 1 })).toBeUndefined();
    expect(pinnedNumeric({ type: 'numeric' })).toBeUndefined();
    expect(pinnedNumeric({ type: 'bigint', precision: 5, scale: 1 })).toBeUndefined();
  });
  it("the loaders land the registry's tables, then set_aside_values once (even if a registry lists it)", () => {
    expect(landedTables([t]).map((x) => x.name)).toEqual(['tb_people', 'set_aside_values']);
    expect(landedTables([SET_ASIDE_TABLE, t]).map((x) => x.name)).toEqual(['tb_people', 'set_aside_values']);
    expect(landedTables([t])[1]).toBe(SET_ASIDE_TABLE);
  });
});

describe('issue messages (shared/contracts/issues.ts): every field named by its path, with its own problem', () => {
  it('names each field by its dotted path, "(message)" for the whole value, issues joined by "; "', () => {
    const O = z.object({ a: z.object({ b: z.string().refine(() => false, 'bad b') }), c: z.string().refine(() => false, 'bad c') });
    expect(formatIssues(O.safeParse({ a: { b: 'x' }, c: 'y' }).error!)).toBe('a.b: bad b; c: bad c');
    expect(
      formatIssues(
        z
          .string()
          .refine(() => false, 'nope')
          .safeParse('x').error!,
      ),
    ).toBe('(message): nope');
  });

  it('a refused record key shows the key rule\'s own message, not zod\'s "Invalid key in record"', () => {
    const R = z.record(z.string().regex(/^\d+$/, 'must be digits'), z.number());
    const error = R.safeParse({ abc: 1, '12': 'x' }).error!;
    expect(formatIssues(error)).toBe('12: Invalid input: expected number, received string; abc: key must be digits');
    const twoRules = z.record(z.string().regex(/^\d+$/, 'must be digits').max(2, 'at most 2 characters'), z.number());
    expect(formatIssues(twoRules.safeParse({ abcd: 1 }).error!)).toBe('abcd: key must be digits; at most 2 characters');
    // An invalid_key issue without the rule's own issues keeps zod's message.
    const bare = { code: 'invalid_key', origin: 'record', issues: [], path: ['k'], message: 'Invalid key in record', input: 'k' } as unknown as z.core.$ZodIssue;
    expect(issueMessage(bare)).toBe('Invalid key in record');
  });
});
