import { RunRequest } from '../../shared/contracts/messages';
import { backfillChunks, cloudTarget, gcloudPublishCommand, rerunRequest, MAX_BACKFILL_MONTHS } from '../../scripts/lib/requests';
import { PEC_TABLES } from '../../shared/tables/pec-tables';

describe('rerun request', () => {
  it('is the documented one-line message, valid against the RunRequest contract', () => {
    const r = rerunRequest({ municipality: '3509502' });
    expect(r).toEqual({ trigger: 'rerun', municipalities: ['3509502'] });
    expect(RunRequest.parse(r).dispatch).toBe('fan-out');
    expect(gcloudPublishCommand(r, 'prod-')).toBe(`gcloud pubsub topics publish prod-pec-run-requests --message='{"trigger":"rerun","municipalities":["3509502"]}'`);
  });

  it('takes an optional date and tables, and refuses what the contract refuses', () => {
    expect(rerunRequest({ municipality: '3509502', runDate: '2026-11-20', tables: ['tb_fat_vacinacao'] })).toEqual({
      trigger: 'rerun',
      municipalities: ['3509502'],
      runDate: '2026-11-20',
      tables: ['tb_fat_vacinacao'],
    });
    expect(() => rerunRequest({ municipality: '3509501' })).toThrow(/check digit/);
    expect(() => rerunRequest({ municipality: '3509502', tables: ['tb_nope'] })).toThrow(/unknown table/);
    expect(() => rerunRequest({ municipality: '3509502', runDate: '2026-02-30' })).toThrow(/calendar date/);
  });
});

describe('backfill chunks', () => {
  const windowed = PEC_TABLES.filter((t) => t.mode.kind === 'window').map((t) => t.name);

  it('one request per calendar month, oldest first, with half-open month windows and deterministic run ids', () => {
    const chunks = backfillChunks({ municipality: '3509502', from: '2025-11', to: '2026-02' });
    expect(chunks.map((c) => [c.runId, c.window, c.runDate])).toEqual([
      ['backfill-3509502-202511', { start: '2025-11-01', end: '2025-12-01' }, '2025-11-30'],
      ['backfill-3509502-202512', { start: '2025-12-01', end: '2026-01-01' }, '2025-12-31'],
      ['backfill-3509502-202601', { start: '2026-01-01', end: '2026-02-01' }, '2026-01-31'],
      ['backfill-3509502-202602', { start: '2026-02-01', end: '2026-03-01' }, '2026-02-28'],
    ]);
    for (const c of chunks) {
      expect(RunRequest.parse(c)).toMatchObject({ trigger: 'backfill', municipalities: ['3509502'] });
      // Each chunk is at most one month: one extract invocation's worth for a mid-size municipality.
      const days = (Date.parse(c.window!.end) - Date.parse(c.window!.start)) / 86_400_000;
      expect(days).toBeGreaterThanOrEqual(28);
      expect(days).toBeLessThanOrEqual(31);
    }
    // Consecutive windows neither overlap nor leave a gap.
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.window!.start).toBe(chunks[i - 1]!.window!.end);
    // The same backfill asked twice is the same requests (idempotent downstream).
    expect(backfillChunks({ municipality: '3509502', from: '2025-11', to: '2026-02' })).toEqual(chunks);
  });

  it('windowed tables in every chunk, full-refresh tables once, with the newest chunk', () => {
    const chunks = backfillChunks({ municipality: '3509502', from: '2026-01', to: '2026-03' });
    expect(chunks[0]!.tables).toEqual(windowed);
    expect(chunks[1]!.tables).toEqual(windowed);
    expect(chunks[2]!.tables).toBeUndefined(); // every table
    expect(backfillChunks({ municipality: '3509502', from: '2026-01', to: '2026-02', tables: ['tb_fat_vacinacao'] }).map((c) => c.tables)).toEqual([
      ['tb_fat_vacinacao'],
      ['tb_fat_vacinacao'],
    ]);
    expect(backfillChunks({ municipality: '3509502', from: '2026-05', to: '2026-05' })).toHaveLength(1);
  });

  it('refuses reversed, malformed or oversized ranges', () => {
    expect(() => backfillChunks({ municipality: '3509502', from: '2026-03', to: '2026-01' })).toThrow(/--from must not be after --to/);
    expect(() => backfillChunks({ municipality: '3509502', from: '2026-13', to: '2026-14' })).toThrow(/YYYY-MM/);
    expect(() => backfillChunks({ municipality: '3509502', from: '2010-01', to: '2026-01' })).toThrow(new RegExp(`at most ${MAX_BACKFILL_MONTHS} months`));
    expect(() => backfillChunks({ municipality: '3509502', from: '2026-01', to: '2026-02', tables: ['tb_nope'] })).toThrow(/unknown table/);
  });
});

describe('where --cloud publishes', () => {
  it('locally unless asked, or unless the deployment environment is set', () => {
    expect(cloudTarget({}, {})).toBeUndefined();
    expect(cloudTarget({}, { GOOGLE_CLOUD_PROJECT: 'p' })).toBeUndefined();
    expect(cloudTarget({}, { GOOGLE_CLOUD_PROJECT: 'p', TOPIC_PREFIX: 'prod-' })).toEqual({ projectId: 'p', topicPrefix: 'prod-' });
    expect(cloudTarget({ cloud: true, project: 'q' }, {})).toEqual({ projectId: 'q', topicPrefix: '' });
    expect(() => cloudTarget({ cloud: true }, {})).toThrow(/GOOGLE_CLOUD_PROJECT/);
  });
});
