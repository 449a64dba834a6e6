import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** COPY text format: the NULL marker. */
export const NULL = '\\N';

const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text value for COPY text format; null becomes \N. Only free text needs this, numbers never do. */
export function copyText(value: string | null | undefined): string {
  if (value === null || value === undefined) return NULL;
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (ch) => ESCAPES[ch]!) : value;
}

/** Lines are gathered into chunks of about this many characters before they are handed to the socket. */
export const CHUNK_CHARS = 64 * 1024;

/**
 * Streams COPY text-format chunks into a table. The producer is a (sync) iterable, pulled only as
 * fast as the server takes data, so memory stays flat whatever the row count.
 */
export async function copyInto(client: Client, table: string, columns: readonly string[], chunks: Iterable<string>): Promise<void> {
  const sql = `COPY public.${table} (${columns.join(', ')}) FROM STDIN`;
  const checked = checkFirstLine(table, columns.length, chunks);
  await pipeline(Readable.from(checked), client.query(copyFrom(sql)));
}

/** Guards against a row template drifting from its column list: the first line must have the right arity. */
function* checkFirstLine(table: string, columnCount: number, chunks: Iterable<string>): Generator<string> {
  let first = true;
  for (const chunk of chunks) {
    if (first && chunk.length > 0) {
      first = false;
      const end = chunk.indexOf('\n');
      const line = end < 0 ? chunk : chunk.slice(0, end);
      const fields = line.split('\t').length;
      if (fields !== columnCount) throw new Error(`${table}: generated row has ${fields} fields, expected ${columnCount}: ${JSON.stringify(line.slice(0, 300))}`);
    }
    yield chunk;
  }
}
