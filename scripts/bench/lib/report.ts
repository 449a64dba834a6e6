/** Small formatting helpers shared by the console output and docs/benchmarks.md. */

export function median(values: number[]): number | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1]! + v[mid]!) / 2;
}

export const int = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US'));
export const fixed = (n: number | undefined, digits = 1) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
export const ratio = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : `${n.toFixed(2)}×`);
export const mb = (bytes: number | undefined) => (bytes === undefined ? '–' : (bytes / 1e6).toFixed(1));

/** A GitHub-flavoured markdown table; numbers are right-aligned when `right` names their columns. */
export function mdTable(rows: Record<string, string>[], right: string[] = []): string {
  if (rows.length === 0) return '_(no rows)_';
  const cols = Object.keys(rows[0]!);
  const head = `| ${cols.join(' | ')} |`;
  const sep = `|${cols.map((c) => (right.includes(c) ? '---:' : '---')).join('|')}|`;
  const body = rows.map((r) => `| ${cols.map((c) => (r[c] ?? '').replaceAll('|', '\\|')).join(' | ')} |`);
  return [head, sep, ...body].join('\n');
}

export function verdict(ok: boolean | undefined): string {
  return ok === undefined ? 'not measured' : ok ? '**met**' : '**missed**';
}
