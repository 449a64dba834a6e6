import fs from 'node:fs';
import path from 'node:path';
import { Parser } from 'node-sql-parser';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { rowAccessPolicies, rowAccessPolicyStatements } from '../../shared/marts/row-access';
import { ALERT_FIELD_VALUE, alertLogEntry, evaluateAlerts } from '../../shared/ledger/alerts';
import { ROWS_PER_PARAMETER, bigQueryLedgerScript } from '../../shared/ledger/bigquery-ledger';
import type { MunicipalityRunRow, ReconciliationRow, RunReport } from '../../shared/ledger/report';
import { LEDGER_TABLES, bigQueryOpsTables } from '../../shared/ledger/schema';
import { MARTS, MART_TABLES, bigQueryMartTables } from '../../shared/marts/marts';

/** Alert rules, the BigQuery ledger writer, table schemas and row access policies: pure, checked without I/O. */
const STARTED = '2026-11-22T09:00:00.000Z';

function municipality(ibge: string, o: Partial<MunicipalityRunRow> = {}): MunicipalityRunRow {
  return {
    run_id: 'daily-20261122',
    municipality: ibge,
    status: 'loaded',
    attempts: 1,
    rows: 10,
    bytes: 100,
    seconds: 1,
    error_class: null,
    error_message: null,
    error_classes: null,
    pec_version: '5.5.12',
    dw_processed_at: '2026-11-22T03:00:00.000Z',
    extracted_at: STARTED,
    loaded_at: STARTED,
    updated_at: STARTED,
    set_aside_values: 0,
    unknown_columns: null,
    ...o,
  };
}
function slice(ibge: string, o: Partial<ReconciliationRow> = {}): ReconciliationRow {
  return {
    run_id: 'daily-20261122',
    municipality: ibge,
    table_name: 'tb_fat_vacinacao',
    window_start: '2026-10-18',
    window_end: '2026-11-23',
    source_rows: 5,
    staged_rows: 5,
    loaded_rows: 5,
    status: 'match',
    ...o,
  };
}
function report(municipalities: MunicipalityRunRow[], reconciliation: ReconciliationRow[] = [], extra: Partial<RunReport> = {}): RunReport {
  return {
    run: {
      run_id: 'daily-20261122',
      trigger: 'daily',
      run_date: '2026-11-22',
      window_start: '2026-10-18',
      window_end: '2026-11-23',
      started_at: STARTED,
      deadline_at: '2026-11-22T12:00:00.000Z',
      finished_at: '2026-11-22T12:30:00.000Z',
      status: 'partial',
      municipalities_planned: municipalities.length,
      municipalities_done: 0,
      municipalities_loaded: 0,
      municipalities_failed: 0,
      municipalities_late: 0,
      municipalities_skipped: 0,
      alerts: 0,
    },
    municipalities,
    reconciliation,
    martsFailed: [],
    loadTimedOut: false,
    ...extra,
  };
}

describe('alert rules', () => {
  it('a healthy run raises nothing', () => {
    expect(evaluateAlerts(report([municipality('3509502')], [slice('3509502')]))).toEqual([]);
  });

  it('failed, late and extracted-but-not-loaded municipalities each raise one alert', () => {
    const alerts = evaluateAlerts(
      report(
        [
          municipality('3509502', { status: 'failed', error_class: 'source_auth', error_message: 'password authentication failed' }),
          municipality('3548500', { status: 'late', dw_processed_at: null }),
          municipality('3552205', { status: 'staged' }),
        ],
        [],
        { loadTimedOut: true },
      ),
    );
    expect(alerts.map((a) => [a.rule, a.severity, a.municipality])).toEqual([
      ['municipality_failed', 'ERROR', '3509502'],
      ['municipality_late', 'ERROR', '3548500'],
      ['not_loaded', 'ALERT', '3552205'],
    ]);
    expect(alerts[0]!.message).toContain('source_auth');
    expect(alerts[2]!.message).toContain('did not finish in time');
  });

  it('a source whose DW was processed more than the threshold before the run is stale', () => {
    const at = (hoursBefore: number) => new Date(Date.parse(STARTED) - hoursBefore * 3_600_000).toISOString();
    const fresh = municipality('3509502', { dw_processed_at: at(25.9) });
    const stale = municipality('3548500', { dw_processed_at: at(26.1) });
    const unknown = municipality('3552205', { dw_processed_at: null });
    const alerts = evaluateAlerts(report([fresh, stale, unknown]));
    expect(alerts.map((a) => [a.rule, a.municipality])).toEqual([
      ['stale_source', '3548500'],
      ['stale_source', '3552205'],
    ]);
    expect(alerts[0]!.message).toMatch(/26\.1 h before the run, threshold 26 h/);
    // The threshold is configuration.
    expect(evaluateAlerts(report([stale]), { staleSourceHours: 48 })).toEqual([]);
  });

  it('slices whose source, staged and loaded counts differ raise one reconciliation alert per municipality', () => {
    const alerts = evaluateAlerts(
      report(
        [municipality('3509502')],
        [
          slice('3509502', { table_name: 'tb_fat_vacinacao', source_rows: 10, staged_rows: 10, loaded_rows: 9, status: 'mismatch' }),
          slice('3509502', { table_name: 'tb_fat_cad_individual', source_rows: 4, staged_rows: 3, loaded_rows: 3, status: 'mismatch' }),
          slice('3509502', { table_name: 'tb_fat_cidadao_pec' }),
          slice('3509502', { table_name: 'tb_fat_visita_domiciliar', status: 'extract_failed', source_rows: null, staged_rows: null, loaded_rows: null }),
        ],
      ),
    );
    expect(alerts.map((a) => [a.rule, a.severity])).toEqual([
      ['reconciliation_mismatch', 'ALERT'],
      ['table_failed', 'ERROR'],
    ]);
    expect(alerts[0]!.message).toBe(
      '3509502: row counts do not reconcile: tb_fat_vacinacao (source 10, staged 10, loaded 9), tb_fat_cad_individual (source 4, staged 3, loaded 3)',
    );
  });

  it('the log line has the fixed `alert` field the log-based metric matches', () => {
    const [a] = evaluateAlerts(report([municipality('3509502', { status: 'failed', error_class: 'source_auth' })]));
    expect(alertLogEntry(a!)).toEqual({
      severity: 'ERROR',
      message: expect.stringContaining('3509502'),
      alert: ALERT_FIELD_VALUE,
      rule: 'municipality_failed',
      runId: 'daily-20261122',
      municipality: '3509502',
    });
  });
});

describe('BigQuery ledger and table schemas', () => {
  it('a report is one transaction of DELETE + INSERT per ledger table, rows travelling as JSON parameters', () => {
    const r = report([municipality('3509502', { error_message: "it's; DROP TABLE x" })], [slice('3509502')]);
    const alerts = evaluateAlerts(r);
    const q = bigQueryLedgerScript(r, alerts, { project: 'proj', dataset: 'pec_ops' });
    const statements = q.query.split(/;\n/).map((s) => s.replace(/;$/, '').trim());
    expect(statements[0]).toBe('BEGIN TRANSACTION');
    expect(statements.at(-1)).toBe('COMMIT TRANSACTION');
    expect(statements.filter((s) => s.startsWith('DELETE'))).toHaveLength(4);
    expect(statements.filter((s) => s.startsWith('INSERT'))).toHaveLength(3); // no alerts: nothing to insert there
    expect(q.query).not.toContain('DROP TABLE'); // values never become SQL
    expect(JSON.parse(q.params.municipality_runs_0!)[0].error_message).toBe("it's; DROP TABLE x");
    const parser = new Parser();
    for (const s of statements.slice(1, -1)) expect(() => parser.astify(s.replace(/@[a-z_0-9]+/g, "'x'"), { database: 'bigquery' })).not.toThrow();
    // 650 municipalities' reconciliation rows are split over several parameters.
    const big = report(
      [municipality('3509502')],
      Array.from({ length: ROWS_PER_PARAMETER * 2 + 1 }, () => slice('3509502')),
    );
    const bq = bigQueryLedgerScript(big, [], { project: 'proj', dataset: 'pec_ops' });
    expect(Object.keys(bq.params).filter((k) => k.startsWith('reconciliation_'))).toEqual(['reconciliation_0', 'reconciliation_1', 'reconciliation_2']);
    expect(Object.keys(bq.params).filter((k) => k.startsWith('alerts_'))).toEqual([]);
  });

  it('infra-cdktf gets every ledger and mart table with BigQuery types', () => {
    const tables = [...bigQueryOpsTables(), ...bigQueryMartTables()];
    expect(tables.map((t) => `${t.dataset}.${t.name}`)).toEqual([
      'ops.runs',
      'ops.municipality_runs',
      'ops.reconciliation',
      'ops.alerts',
      'marts.hypertension_follow_up',
      'marts.diabetes_follow_up',
      'marts.dim_indicator',
      'marts.dim_team',
      'marts.dim_period',
      'marts.indicator_person_period',
      'marts.indicator_team_period',
      'marts.indicator_municipality_period',
      'marts.nominal_list',
      'marts.access_team_period',
      'marts.refresh_state',
    ]);
    for (const t of tables) for (const f of t.fields) expect(['STRING', 'INT64', 'FLOAT64', 'DATE', 'TIMESTAMP']).toContain(f.type);
    const mart = tables.find((t) => t.name === 'hypertension_follow_up')!;
    expect(mart.clustering).toEqual(['municipality_ibge', 'quadrimestre']);
    expect(mart.fields.find((f) => f.name === 'municipality_ibge')!.mode).toBe('REQUIRED');
  });

  it('every mart column is documented in docs/marts.md and every ledger column in docs/ledger.md (generated)', () => {
    const doc = (f: string) => fs.readFileSync(path.join(__dirname, '../../docs', f), 'utf8');
    const marts = doc('marts.md');
    for (const m of MART_TABLES.map((table) => ({ name: table.name, table }))) {
      expect(marts).toContain(`marts.${m.name}`);
      for (const c of m.table.columns) expect({ column: c.name, documented: marts.includes(`| \`${c.name}\` |`) }).toEqual({ column: c.name, documented: true });
    }
    const ops = fs.readFileSync(path.join(__dirname, '../../docs/ledger.md'), 'utf8');
    for (const t of LEDGER_TABLES) {
      expect(ops).toContain(`ops.${t.name}`);
      for (const c of t.columns) expect({ table: t.name, column: c.name, documented: ops.includes(`\`${c.name}\``) }).toEqual({ table: t.name, column: c.name, documented: true });
    }
  });
});

describe('row access policies for Power BI', () => {
  const registry = MunicipalityRegistry.parse({
    municipalities: [
      { ibge: '3509502', name: 'Campinas', network: 'tls', connection: { host: 'pec.example', password: { secret: 's1' } } },
      { ibge: '3548500', name: 'Santos', network: 'tls', enabled: false, connection: { host: 'pec2.example', password: { secret: 's2' } } },
    ],
  });

  it('one policy per enabled municipality and mart, plus the TRUE filter the refresh needs', () => {
    const sql = rowAccessPolicyStatements(registry, {
      project: 'proj',
      martsDataset: 'pec_marts',
      readersOf: (ibge) => `group:pec-bi-${ibge}@saude.example.gov.br`,
      writer: 'serviceAccount:pec-workflows@proj.iam.gserviceaccount.com',
    });
    // Every mart table, each with the pipeline's own policy and one per municipality group.
    expect(sql).toEqual(
      MART_TABLES.flatMap((m) => [
        `CREATE OR REPLACE ROW ACCESS POLICY pipeline_all_rows ON \`proj.pec_marts.${m.name}\` GRANT TO ("serviceAccount:pec-workflows@proj.iam.gserviceaccount.com") FILTER USING (TRUE);`,
        `CREATE OR REPLACE ROW ACCESS POLICY municipality_3509502 ON \`proj.pec_marts.${m.name}\` GRANT TO ("group:pec-bi-3509502@saude.example.gov.br") FILTER USING (municipality_ibge = "3509502");`,
      ]),
    );
    expect(sql.filter((q) => q.includes('pec_marts.hypertension_follow_up'))).toHaveLength(2);
    expect(() =>
      rowAccessPolicyStatements(registry, { project: 'proj', martsDataset: 'pec_marts', readersOf: () => 'group:x") OR TRUE --', writer: 'serviceAccount:a@b' }),
    ).toThrow(/not an IAM principal/);
  });

  it('one policy per readers group: a group named for several municipalities gets one IN filter; municipalities without a group get none', () => {
    const three = MunicipalityRegistry.parse({
      municipalities: ['3509502', '3548500', '4106902'].map((ibge) => ({
        ibge,
        name: `M${ibge}`,
        network: 'tls',
        connection: { host: `pec-${ibge}.example`, password: { secret: `s${ibge}` } },
      })),
    });
    const groups: Record<string, string> = { '3509502': 'group:drs-sp@example.org', '3548500': 'group:drs-sp@example.org' };
    const policies = rowAccessPolicies(three, {
      readersOf: (ibge) => groups[ibge],
      writer: 'serviceAccount:pec-workflows@proj.iam.gserviceaccount.com',
      allRowsReaders: ['group:ses@example.org', 'serviceAccount:pec-workflows@proj.iam.gserviceaccount.com'],
    });
    expect(policies.filter((p) => p.mart === MARTS[0]!.name)).toEqual([
      {
        mart: MARTS[0]!.name,
        policyId: 'pipeline_all_rows',
        grantees: ['serviceAccount:pec-workflows@proj.iam.gserviceaccount.com', 'group:ses@example.org'],
        filterPredicate: 'TRUE',
      },
      {
        mart: MARTS[0]!.name,
        policyId: expect.stringMatching(/^readers_[0-9a-f]{16}$/),
        grantees: ['group:drs-sp@example.org'],
        filterPredicate: 'municipality_ibge IN ("3509502", "3548500")',
      },
    ]);
    // The same policies on every mart, and a group's policy id does not depend on its municipalities.
    expect(policies).toHaveLength(2 * MART_TABLES.length);
    const again = rowAccessPolicies(three, {
      readersOf: (ibge) => (ibge === '4106902' ? 'group:drs-sp@example.org' : groups[ibge]),
      writer: 'serviceAccount:w@proj.iam.gserviceaccount.com',
    });
    expect(again[1]!.policyId).toBe(policies[1]!.policyId);
    expect(again[1]!.filterPredicate).toBe('municipality_ibge IN ("3509502", "3548500", "4106902")');
  });
});
