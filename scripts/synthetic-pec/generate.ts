import { performance } from 'node:perf_hooks';
import type { Client } from 'pg';
import { z } from 'zod';
import { IbgeCode } from '../../shared/contracts/ibge';
import { IsoDate } from '../../shared/contracts/identifiers';
import { Calendar, dayNumber, isoOfDay, minusMonths, timestampText } from './calendar';
import { CHUNK_CHARS, copyInto, copyText, NULL } from './copy';
import { FACT_COLUMNS, FactGenerator, type FactTable } from './facts';
import { indicatorCohortRows } from './indicator-cohort';
import { buildInstallation, STREAM, transactionalTeamRows, type DimRow, type TeamTypeChange } from './population';
import { mixSeed, Rng } from './prng';
import { PEC_VERSIONS, pecSchemaParts, pecTables, type PecTable, type PecVersion } from './schema';
import { PEC_RELEASES, UF_SIGLAS, UFS } from './vocab';

/**
 * Seeds an empty PostgreSQL database with a deterministic synthetic PEC data warehouse: same
 * options, byte-identical tables. Rows stream through COPY, so memory depends on the number of
 * citizens, not on the number of fact rows.
 */

const Municipality = z.strictObject({
  ibge: IbgeCode,
  name: z.string().trim().min(2).max(100),
  uf: z.enum(UF_SIGLAS, { message: `must be a state abbreviation (${UF_SIGLAS.join(', ')})` }),
});

export const SeedOptions = z
  .strictObject({
    /** Same seed (and other options) ⇒ byte-identical data. */
    seed: z.number().int(),
    /** One installation can hold several municipalities. */
    municipalities: z.array(Municipality).min(1, 'needs at least one municipality'),
    /** Citizen records per municipality: 1 500 is a small municipality, 80 000 a mid-size one. */
    citizens: z.number().int().min(1).max(2_000_000).default(1500),
    /** Last day of data. */
    endDate: IsoDate.default('2026-11-21'),
    /** Months of history before endDate. */
    months: z.number().int().min(1).max(120).default(14),
    pecVersion: z.enum(PEC_VERSIONS).default('5.5'),
    /** Newest tb_relatorio_processamento.dt_processamento (UTC fields are written); default endDate 03:00. */
    dwProcessedAt: z.date().optional(),
    /**
     * Add the planted indicator cohort (indicator-cohort.ts): per municipality, a team whose people
     * have exactly known indicator events. Off by default, so existing seeds stay byte-identical.
     */
    indicatorCohort: z.boolean().default(false),
    /** Benchmarks: dimensions, citizens and exactly `rows` consultations, no other facts. */
    onlyTable: z.strictObject({ name: z.literal('tb_fat_atendimento_individual'), rows: z.number().int().min(0).max(1_000_000_000) }).optional(),
  })
  .superRefine((o, ctx) => {
    const seen = new Set<string>();
    o.municipalities.forEach((m, i) => {
      if (seen.has(m.ibge)) ctx.addIssue({ code: 'custom', path: ['municipalities', i, 'ibge'], message: `municipality ${m.ibge} is listed twice` });
      seen.add(m.ibge);
      const uf = UFS.find((u) => u.sg === m.uf);
      if (uf && !m.ibge.startsWith(uf.code))
        ctx.addIssue({ code: 'custom', path: ['municipalities', i, 'uf'], message: `IBGE code ${m.ibge} belongs to state code ${m.ibge.slice(0, 2)}, not ${m.uf} (${uf.code})` });
    });
    if (o.dwProcessedAt && Number.isNaN(o.dwProcessedAt.getTime())) ctx.addIssue({ code: 'custom', path: ['dwProcessedAt'], message: 'is not a valid date' });
  });
export type SeedOptions = z.input<typeof SeedOptions>;

export interface MunicipalitySummary {
  ibge: string;
  name: string;
  uf: string;
  /** tb_dim_municipio ids the municipality's facts carry (co_dim_municipio). */
  municipioIds: number[];
  citizens: number;
  /** Rows of each municipality-scoped fact table. */
  rowsPerTable: Record<string, number>;
}

export interface SeedSummary {
  pecVersion: PecVersion;
  seed: number;
  /** First day of the history (YYYY-MM-DD). */
  historyStart: string;
  endDate: string;
  /** max(tb_relatorio_processamento.dt_processamento), as written. */
  dwProcessedAt: string;
  /** Rows of every table created, extracted or not. */
  rowsPerTable: Record<string, number>;
  municipalities: MunicipalitySummary[];
  totalRows: number;
  durationMs: number;
  rowsPerSecond: number;
  /** Where the time went: `load:<table>`, `constraints` (keys and indexes), `analyze`. */
  timingsMs: Record<string, number>;
  /** The planted changes of a team's type (tb_equipe holds the new type, ta_equipe the change). */
  teamTypeChanges: TeamTypeChange[];
}

/** Physical column names for the generator's column order; fails when generator and schema disagree. */
function copyColumns(table: PecTable, logical: readonly string[]): string[] {
  const byLogical = new Map(table.columns.map((c) => [c.logicalName, c.name]));
  const missing = table.columns.filter((c) => !logical.includes(c.logicalName)).map((c) => c.logicalName);
  const unknown = logical.filter((c) => !byLogical.has(c));
  if (missing.length > 0 || unknown.length > 0)
    throw new Error(
      `synthetic PEC generator and schema disagree on ${table.name}` +
        (missing.length ? `: nothing generates ${missing.join(', ')} (teach scripts/synthetic-pec to fill it)` : '') +
        (unknown.length ? `: generated columns absent from the schema: ${unknown.join(', ')}` : ''),
    );
  return logical.map((c) => byLogical.get(c)!);
}

function* rowChunks(table: PecTable, rows: readonly DimRow[]): Generator<string> {
  let out = '';
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (!table.columns.some((c) => c.logicalName === key)) throw new Error(`${table.name}: generated column ${key} is absent from the schema`);
    }
    let line = '';
    for (let i = 0; i < table.columns.length; i++) {
      const col = table.columns[i]!;
      const v = row[col.logicalName];
      if (v === undefined) throw new Error(`synthetic PEC generator does not fill ${table.name}.${col.logicalName}`);
      line += (i > 0 ? '\t' : '') + (v === null ? NULL : typeof v === 'number' ? String(v) : copyText(v));
    }
    out += `${line}\n`;
    if (out.length >= CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  if (out.length > 0) yield out;
}

/** Liquibase log of the releases up to `version`, newest last. */
function migrationRows(version: PecVersion, endDay: number, rng: Rng): DimRow[] {
  const [major, minor] = version.split('.').map(Number) as [number, number];
  const releases = PEC_RELEASES.filter((r) => {
    const [a, b] = r.split('.').map(Number) as [number, number];
    return a < major || (a === major && b <= minor);
  });
  const rows: DimRow[] = [];
  releases.forEach((release, i) => {
    const installedDay = endDay - 40 - (releases.length - 1 - i) * 150;
    const files = 2 + (i % 4);
    for (let f = 1; f <= files; f++) {
      const at = new Date(installedDay * 86_400_000 + (2 * 3600 + f * 7 + rng.int(0, 59)) * 1000);
      rows.push({ co_seq_migracao: rows.length + 1, ds_filename: `db/v${release}/changelog-${String(f).padStart(3, '0')}.xml`, dt_executado: timestampText(at) });
    }
  });
  return rows;
}

/** One nightly DW run per day of the history, the last one at `processedAt`. */
function processingRows(historyStart: number, historyEnd: number, processedAt: Date, rng: Rng): DimRow[] {
  const rows: DimRow[] = [];
  const lastDay = Math.min(Math.floor(processedAt.getTime() / 86_400_000), historyEnd + 1);
  for (let day = historyStart + 1; day < lastDay; day++) {
    const at = new Date(day * 86_400_000 + rng.int(5 * 60, 3 * 3600 - 1) * 1000);
    rows.push({ co_seq_relatorio_processamento: rows.length + 1, dt_processamento: timestampText(at), ds_tipo: rng.chance(0.02) ? 'REPROCESSAMENTO' : 'PROCESSAMENTO_DW' });
  }
  rows.push({ co_seq_relatorio_processamento: rows.length + 1, dt_processamento: timestampText(processedAt), ds_tipo: 'PROCESSAMENTO_DW' });
  return rows;
}

/**
 * Creates the PEC schema in the connected database (which must have no tables in `public`) and
 * fills it, all in one transaction. Keys and indexes are built after the load, then the tables
 * are analyzed.
 */
export async function seedPec(
  client: Client,
  options: SeedOptions,
  /** Called after each step (a table loaded, constraints, analyze): live progress for `npm start`. */
  onStep?: (step: { label: string; rows?: number; ms: number }) => void,
): Promise<SeedSummary> {
  const o = SeedOptions.parse(options);
  const started = performance.now();
  const endDay = dayNumber(o.endDate);
  const calendar = new Calendar(minusMonths(o.endDate, o.months) + 1, endDay);
  const processedAt = o.dwProcessedAt ?? new Date(`${o.endDate}T03:00:00Z`);
  const tables = pecTables(o.pecVersion);
  const tableByName = new Map(tables.map((t) => [t.name, t]));

  const { rows: existing } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`);
  if (existing[0]!.n > 0) throw new Error(`the target database is not empty (${existing[0]!.n} tables in schema public): seed a freshly created database`);

  const installation = buildInstallation({ seed: o.seed, municipalities: o.municipalities, citizens: o.citizens }, calendar);
  const metaRng = new Rng(mixSeed(o.seed, STREAM.metadata));
  const staticRows = new Map<string, DimRow[]>(installation.dimensions);
  // The planted cohort: its team joins the static dimension rows, its facts follow each fact table's own rows.
  const cohort = o.indicatorCohort && !o.onlyTable ? indicatorCohortRows(installation, endDay) : new Map<string, DimRow[]>();
  staticRows.set('tb_dim_equipe', [...(staticRows.get('tb_dim_equipe') ?? []), ...(cohort.get('tb_dim_equipe') ?? [])]);
  // The team types (transactional tables): the cohort's team stays eSF, its planted figures assume it.
  const cohortTeams = new Set((cohort.get('tb_dim_equipe') ?? []).map((t) => Number(t.co_seq_dim_equipe)));
  const teamTables = transactionalTeamRows(staticRows.get('tb_dim_equipe')!, cohortTeams, calendar.historyStart, calendar.historyEnd);
  for (const [name, rows] of teamTables.tables) staticRows.set(name, rows);
  staticRows.set('tb_migracao', migrationRows(o.pecVersion, endDay, metaRng));
  staticRows.set('tb_relatorio_processamento', processingRows(calendar.historyStart, calendar.historyEnd, processedAt, metaRng));

  const facts = new FactGenerator(installation, calendar, o.seed);
  const rowsPerTable: Record<string, number> = {};
  const factLoads: [FactTable, () => Iterable<string>][] = o.onlyTable
    ? [
        ['tb_fat_cidadao_pec', () => facts.citizens()],
        ['tb_fat_atendimento_individual', () => facts.onlyConsultations(o.onlyTable!.rows)],
      ]
    : [
        ['tb_fat_cidadao_pec', () => facts.citizens()],
        ['tb_fat_cad_individual', () => facts.registrations()],
        ['tb_fat_atendimento_individual', () => facts.care('tb_fat_atendimento_individual')],
        ['tb_fat_atendimento_odonto', () => facts.dental()],
        ['tb_fat_atd_ind_problemas', () => facts.care('tb_fat_atd_ind_problemas')],
        ['tb_fat_atd_ind_procedimentos', () => facts.care('tb_fat_atd_ind_procedimentos')],
        ['tb_fat_proced_atend_proced', () => facts.care('tb_fat_proced_atend_proced')],
        ['tb_fat_visita_domiciliar', () => facts.visits()],
        ['tb_fat_vacinacao', () => facts.vaccination('tb_fat_vacinacao')],
        ['tb_fat_vacinacao_vacina', () => facts.vaccination('tb_fat_vacinacao_vacina')],
      ];
  // Check every column list before the first row is sent.
  const factColumns = new Map(factLoads.map(([name]) => [name, copyColumns(tableByName.get(name)!, FACT_COLUMNS[name])]));

  const timingsMs: Record<string, number> = {};
  const timed = async (label: string, work: () => Promise<unknown>) => {
    const t0 = performance.now();
    await work();
    timingsMs[label] = Math.round(performance.now() - t0);
  };
  const done = (label: string, rows?: number) => onStep?.({ label, rows, ms: timingsMs[label] ?? 0 });
  const { tables: ddl, constraints } = pecSchemaParts(o.pecVersion);
  await client.query('BEGIN');
  try {
    // Key and index builds sort whole tables: in memory they take a fraction of the time.
    await client.query(`SET LOCAL maintenance_work_mem = '512MB'`);
    await client.query(ddl);
    for (const table of tables) {
      const rows = staticRows.get(table.name);
      if (!rows) continue;
      await timed(`load:${table.name}`, () =>
        copyInto(
          client,
          table.name,
          table.columns.map((c) => c.name),
          rowChunks(table, rows),
        ),
      );
      rowsPerTable[table.name] = rows.length;
      done(`load:${table.name}`, rows.length);
    }
    for (const [name, produce] of factLoads) {
      await timed(`load:${name}`, () => copyInto(client, name, factColumns.get(name)!, produce()));
      rowsPerTable[name] = facts.rowCounts.get(name)!.reduce((a, b) => a + b, 0);
      const planted = cohort.get(name);
      if (planted) {
        await copyInto(
          client,
          name,
          tableByName.get(name)!.columns.map((c) => c.name),
          rowChunks(tableByName.get(name)!, planted),
        );
        rowsPerTable[name] += planted.length;
      }
      done(`load:${name}`, rowsPerTable[name]);
    }
    await timed('constraints', () => client.query(constraints));
    done('constraints');
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  await timed('analyze', () => client.query('ANALYZE'));
  done('analyze');

  for (const table of tables) rowsPerTable[table.name] ??= 0;
  const totalRows = Object.values(rowsPerTable).reduce((a, b) => a + b, 0);
  const durationMs = Math.round(performance.now() - started);
  return {
    pecVersion: o.pecVersion,
    seed: o.seed,
    historyStart: isoOfDay(calendar.historyStart),
    endDate: o.endDate,
    dwProcessedAt: timestampText(processedAt),
    rowsPerTable,
    municipalities: installation.municipalities.map((m) => ({
      ibge: m.ibge,
      name: m.name,
      uf: m.uf.sg,
      municipioIds: [m.dimId],
      citizens: m.citizens.length,
      rowsPerTable: Object.fromEntries(
        tables
          .filter((t) => t.kind === 'fact')
          .map((t) => [t.name, (facts.rowCounts.get(t.name as FactTable)?.[m.index] ?? 0) + (cohort.get(t.name)?.filter((r) => r.co_dim_municipio === m.dimId).length ?? 0)]),
      ),
    })),
    totalRows,
    teamTypeChanges: teamTables.changes,
    durationMs,
    rowsPerSecond: Math.round(totalRows / Math.max(durationMs / 1000, 0.001)),
    timingsMs,
  };
}
