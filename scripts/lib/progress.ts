/**
 * How progress looks: colour and symbols on a terminal, plain words when piped (CI logs, `| tee`),
 * and no colour when NO_COLOR is set (https://no-color.org). Eight ANSI codes and four symbols do not
 * justify a dependency.
 */
export interface Style {
  color: boolean;
  /** Symbols and in-place line updates: only a terminal shows them well. */
  tty: boolean;
}

export function terminalStyle(stream: { isTTY?: boolean } = process.stdout, env: Record<string, string | undefined> = process.env): Style {
  const tty = stream.isTTY === true;
  return { tty, color: tty && !(env.NO_COLOR !== undefined && env.NO_COLOR !== '') && env.TERM !== 'dumb' };
}

const CODES = { green: 32, red: 31, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;
export type Paint = keyof typeof CODES;

export function paint(style: Style, what: Paint, text: string): string {
  return style.color ? `\x1b[${CODES[what]}m${text}\x1b[0m` : text;
}

/** A symbol on a terminal, nothing when piped (the words around it already say it). */
export function symbol(style: Style, kind: 'ok' | 'fail' | 'retry' | 'busy' | 'staged'): string {
  if (!style.tty) return '';
  return { ok: '✓ ', fail: '✗ ', retry: '↻ ', busy: '… ', staged: '● ' }[kind];
}

/** 75 s → "1:15"; an hour or more → "1:02:03". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * Time left, from the pace so far: `done` of `total` finished in `elapsedS` seconds. Undefined until
 * something has finished (no pace yet) and once everything has.
 */
export function eta(done: number, total: number, elapsedS: number): number | undefined {
  if (done <= 0 || done >= total) return undefined;
  return (elapsedS / done) * (total - done);
}

/** A line that rewrites itself on a terminal (seeding steps) and prints once per call when piped. */
export class StatusLine {
  private shown = false;
  constructor(
    private readonly style: Style,
    private readonly write: (s: string) => void = (s) => void process.stdout.write(s),
  ) {}
  update(text: string): void {
    if (this.style.tty) {
      this.write(`\r\x1b[2K${text}`);
      this.shown = true;
    } else this.write(`${text}\n`);
  }
  /** Ends the rewritten line with `text` as its final state. */
  done(text: string): void {
    if (this.style.tty && this.shown) this.write(`\r\x1b[2K${text}\n`);
    else this.write(`${text}\n`);
    this.shown = false;
  }
}
