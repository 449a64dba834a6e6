import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { INGESTION_COLUMNS, landedColumns, SET_ASIDE_TABLE, TableDef } from '../../shared/contracts/tables';
import type { Manifest, TableExtract } from '../../shared/contracts/manifest';
import type { DateWindow } from '../../shared/contracts/identifiers';
import { layout } from '../../shared/records/layout';
import type { ObjectStore } from '../../shared/ports';

/**
 * Small tables and staged slices for the warehouse behaviour suite: real gzip CSV parts and real
 * manifests written to an object store, exactly as the extractor lays them out, so loads go through
 * loadRun and the warehouses' real paths.
 */

/** Windowed by an integer yyyymmdd key, like the PEC facts. */
export const FACT = TableDef.parse({
  name: 'tb_fat_teste',
  description: 'fact windowed by a yyyymmdd key',
  primaryKey: ['co_seq'],
  municipality: { kind: 'installation' },
  mode: { kind: 'window', column: 'co_dim_tempo', keyFormat: 'yyyymmdd' },
  columns: [
    { name: 'co_seq', type: 'bigint' },
    { name: 'co_dim_tempo', type: 'bigint' },
    { name: 'qt_valor', type: 'bigint' },
    { name: 'ds_nota', type: 'text' },
  ],
});

/** Full refresh: the municipality's whole table. */
export const DIM = TableDef.parse({
  name: 'tb_dim_teste',
  description: 'dimension refreshed in full',
  primaryKey: ['co_seq'],
  municipality: { kind: 'installation' },
  mode: { kind: 'full' },
  columns: [
    { name: 'co_seq', type: 'bigint' },
    { name: 'no_item', type: 'text' },
  ],
});

/** Windowed by a DATE column (no PEC table today; the loaders support it). */
export const EVENT = TableDef.parse({
  name: 'tb_evento_teste',
  description: 'events windowed by a date column',
  primaryKey: ['co_seq'],
  municipality: { kind: 'installation' },
  mode: { kind: 'window', column: 'dt_evento', keyFormat: 'date' },
  columns: [
    { name: 'co_seq', type: 'bigint' },
    { name: 'dt_evento', type: 'date' },
  ],
});

export const TABLES = [FACT, DIM, EVENT] as const;

export type Row = Record<string, string | number | null>;

export const fileColumns = (t: TableDef) => [...landedColumns(t), ...INGESTION_COLUMNS].map((c) => ({ name: c.name, type: c.type }));

function csvValue(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export interface StagedSlice {
  table: TableDef;
  municipality: string;
  window: DateWindow | null;
  rows: Row[];
  /** Defaults to the run's extraction time. */
  extractedAt?: string;
  /** Tamper with the manifest: declare this many rows instead. */
  declaredRows?: number;
  /** Tamper with the part after its SHA-256 went into the manifest. */
  corruptAfterHash?: boolean;
  /** A manifest entry with no parts at all (an empty slice). */
  noParts?: boolean;
}

/** Writes one municipality's parts and manifest for a run; returns the manifest. */
export async function stageMunicipality(
  store: ObjectStore,
  runId: string,
  municipality: string,
  extractedAt: string,
  slices: Omit<StagedSlice, 'municipality'>[],
): Promise<Manifest> {
  const tables: TableExtract[] = [];
  for (const s of slices) {
    const cols = fileColumns(s.table);
    const at = s.extractedAt ?? extractedAt;
    const lines = [cols.map((c) => c.name).join(',')];
    for (const r of s.rows)
      lines.push(
        cols
          .map((c) =>
            c.name === '_municipality_ibge'
              ? csvValue(r._municipality_ibge ?? municipality)
              : c.name === '_run_id'
                ? runId
                : c.name === '_extracted_at'
                  ? at.replace('T', ' ').replace('Z', '')
                  : csvValue(r[c.name]),
          )
          .join(','),
      );
    const csv = Buffer.from(lines.join('\n') + '\n');
    const body = gzipSync(csv);
    const key = layout.part(runId, s.table.name, municipality, 'a1', 0);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const stored = s.corruptAfterHash ? gzipSync(Buffer.from(lines.slice(0, -1).join('\n') + '\n')) : body;
    if (!s.noParts) await store.create(key, Readable.from([stored]), 'application/gzip');
    tables.push({
      table: s.table.name,
      window: s.window,
      columns: cols,
      parts: s.noParts ? [] : [{ key, rows: s.rows.length, bytes: stored.length, sha256 }],
      rows: s.declaredRows ?? s.rows.length,
      sourceRows: s.rows.length,
      csvBytes: s.noParts ? 0 : csv.length,
      seconds: 0,
      extractedAt: at,
      warnings: [],
    });
  }
  // A slice of set_aside_values is the manifest's `setAside`, not one of its tables.
  const setAside = tables.find((t) => t.table === SET_ASIDE_TABLE.name);
  const manifest: Manifest = {
    ...(setAside ? { setAside } : {}),
    schemaVersion: 1,
    runId,
    municipality,
    attempt: 'a1',
    extractedAt,
    finishedAt: extractedAt,
    pecVersion: null,
    dwProcessedAt: null,
    tables: tables.filter((t) => t !== setAside),
    failedTables: [],
  };
  await store.create(layout.manifest(runId, municipality), Readable.from([Buffer.from(JSON.stringify(manifest))]), 'application/json');
  return manifest;
}

/** Fact rows on the given yyyymmdd days, values derived from a tag so two extractions differ. */
export const factRows = (tag: number, days: number[]): Row[] => days.map((d, i) => ({ co_seq: tag * 1000 + i, co_dim_tempo: d, qt_valor: tag, ds_nota: `n${tag}` }));
export const eventRows = (tag: number, days: string[]): Row[] => days.map((d, i) => ({ co_seq: tag * 1000 + i, dt_evento: d }));
export const dimRows = (tag: number, n = 2): Row[] => Array.from({ length: n }, (_, i) => ({ co_seq: i, no_item: `item-${tag}-${i}` }));
