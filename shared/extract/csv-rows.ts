import { Transform, type TransformCallback } from 'node:stream';
import { PSEUDONYM_LENGTH } from '../contracts/tables';
import type { PseudonymWriter } from './pseudonymizer';

/**
 * Splits PostgreSQL's `COPY … TO STDOUT (FORMAT csv)` output into whole rows and replaces the
 * first `hashedFields` fields of each row with their pseudonym. The extractor orders the SELECT
 * list so that hashed columns come first: a row only has to be parsed up to its last hashed field,
 * and the rest is copied through as bytes. Emits `{ data, rows }` where `data` ends on a row
 * boundary, so a part can be closed after any chunk.
 *
 * PostgreSQL CSV: fields separated by ',', quoted with '"' (inner quotes doubled) when they hold
 * a separator, quote, CR/LF or are empty strings; NULL is an unquoted empty field. Rows end in '\n'.
 */
const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

/**
 * The closing quote of the quoted field opened at `open` (doubled quotes are content), or -1 when
 * the buffer ends first — including right after a quote, which may be the first of a doubled pair.
 */
function closingQuote(buf: Buffer, open: number): number {
  let j = open + 1;
  for (;;) {
    const q = buf.indexOf(QUOTE, j);
    if (q < 0 || q + 1 >= buf.length) return -1;
    if (buf[q + 1] !== QUOTE) return q;
    j = q + 2;
  }
}

export interface RowChunk {
  data: Buffer;
  rows: number;
}

export class CsvRowTransform extends Transform {
  private carry: Buffer | undefined;
  private out: Buffer = Buffer.allocUnsafe(1 << 16);
  private outLength = 0;

  /**
   * @param setAside when given, every row starts with the extractor's `_set_aside` field (see
   *   `ResolvedColumns.setAsideSql`): NULL (one unquoted empty field) for a row that conforms,
   *   otherwise a JSON description handed to `setAside`. The field is stripped from the output.
   */
  constructor(
    private readonly hashedFields: number,
    /** The extractor passes its Pseudonymizer (pseudonyms written straight into the output); tests may pass a function. */
    private readonly pseudonym: PseudonymWriter | ((value: string) => string),
    private readonly setAside?: (description: string) => void,
  ) {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    let end: number;
    try {
      end = this.process(buf);
    } catch (err) {
      return done(err as Error);
    }
    this.carry = end < buf.length ? buf.subarray(end) : undefined;
    done();
  }

  override _flush(done: TransformCallback): void {
    // `carry` is never empty (see _transform): any carry is a row cut off by the end of the output.
    if (this.carry) return done(new Error(`COPY output ended inside a row (${this.carry.length} bytes left)`));
    done();
  }

  /** Processes the complete rows of `buf`; returns the offset just past the last complete row. */
  private process(buf: Buffer): number {
    const k = this.hashedFields;
    let pos = 0;
    let rows = 0;
    let completed = 0; // offset just past the last complete row
    let nextQuote = -1; // next quote at or after pos (-1: recompute; buf.length: none left)
    this.outLength = 0;

    const lead = this.setAside !== undefined;
    const copies = k > 0 || lead;
    const described: string[] = [];

    // Output of the rows complete so far; a row cut off by the chunk's end is rolled back to it.
    let completedOut = 0;
    rowLoop: while (pos < buf.length) {
      // 0. The set-aside field: a lone ',' in the common case.
      let description: string | undefined;
      if (lead) {
        if (buf[pos] === QUOTE) {
          const q = closingQuote(buf, pos);
          if (q < 0) break rowLoop;
          description = buf.toString('utf8', pos + 1, q).replaceAll('""', '"');
          pos = q + 1; // closingQuote found a byte after the quote, so pos is still inside buf
        }
        if (buf[pos] !== COMMA) throw new Error(`unexpected byte after the set-aside field at offset ${pos}`);
        pos++;
      }
      // 1. Hashed leading fields. Hashed columns are never last (the primary key follows), so each ends with ','.
      // Their replacements go straight into the output (no per-row array or joined string).
      for (let f = 0; f < k; f++) {
        let value: string | null = null;
        if (buf[pos] === QUOTE) {
          const q = closingQuote(buf, pos);
          if (q < 0) break rowLoop;
          value = buf.toString('utf8', pos + 1, q).replaceAll('""', '"');
          pos = q + 1;
        } else {
          const c = buf.indexOf(COMMA, pos);
          if (c < 0) break rowLoop;
          value = c === pos ? null : buf.toString('utf8', pos, c);
          pos = c;
        }
        if (buf[pos] !== COMMA) throw new Error(`unexpected byte after field ${f + 1} at offset ${pos}`);
        pos++;
        // NULL stays NULL; an empty string stays empty (nothing to protect, and "" keeps its meaning).
        if (value === null) this.appendByte(COMMA);
        else {
          if (value === '') this.appendText('""');
          else if (typeof this.pseudonym === 'function') this.appendText(this.pseudonym(value));
          else {
            this.ensure(PSEUDONYM_LENGTH);
            this.outLength += this.pseudonym.pseudonymInto(value, this.out, this.outLength);
          }
          this.appendByte(COMMA);
        }
      }
      const afterHashed = pos;
      // 2. The rest of the row, quote-aware: a newline inside a quoted field does not end the row.
      for (;;) {
        if (nextQuote < pos) {
          nextQuote = buf.indexOf(QUOTE, pos);
          if (nextQuote < 0) nextQuote = buf.length;
        }
        const nl = buf.indexOf(NEWLINE, pos);
        if (nl < 0) break rowLoop;
        if (nextQuote > nl) {
          pos = nl + 1;
          break;
        }
        const q = closingQuote(buf, nextQuote);
        if (q < 0) break rowLoop;
        pos = q + 1;
      }
      rows++;
      completed = pos;
      if (description !== undefined) described.push(description);
      if (copies) this.append(buf, afterHashed, pos);
      completedOut = this.outLength;
    }
    this.outLength = completedOut;
    // Descriptions only for rows that are complete in this chunk (a partial row is re-read later).
    for (const d of described) this.setAside!(d);
    if (rows > 0) {
      const data = copies ? Buffer.from(this.out.subarray(0, this.outLength)) : buf.subarray(0, completed);
      this.push({ data, rows } satisfies RowChunk);
    }
    return completed;
  }

  private ensure(extra: number): void {
    if (this.outLength + extra <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.outLength + extra));
    this.out.copy(grown, 0, 0, this.outLength);
    this.out = grown;
  }
  /** `to > from` always: a complete row holds at least its newline after the hashed fields. */
  private append(buf: Buffer, from: number, to: number): void {
    this.ensure(to - from);
    buf.copy(this.out, this.outLength, from, to);
    this.outLength += to - from;
  }
  private appendByte(b: number): void {
    this.ensure(1);
    this.out[this.outLength++] = b;
  }
  private appendText(s: string): void {
    // A UTF-16 unit is at most 3 UTF-8 bytes: reserving that avoids measuring the string first.
    this.ensure(3 * s.length);
    this.outLength += this.out.write(s, this.outLength, 'utf8');
  }
}
