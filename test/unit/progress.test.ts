import type { RunEvent } from '../../shared/ports';
import { ProgressPrinter } from '../../scripts/lib/local-session';
import { duration, eta, StatusLine, terminalStyle } from '../../scripts/lib/progress';

const names = new Map([
  ['3509502', 'Campinas'],
  ['3548500', 'Santos'],
  ['3552205', 'Sorocaba'],
  ['4106902', 'Curitiba'],
]);

function staged(municipality: string, rows: number, bytes: number, seconds: number): RunEvent {
  const extractedAt = '2026-11-22T09:00:00.000Z';
  const manifest = {
    extractedAt,
    finishedAt: new Date(Date.parse(extractedAt) + seconds * 1000).toISOString(),
    pecVersion: '5.5.12',
    failedTables: [],
    tables: [{ rows, warnings: [], parts: [{ bytes }] }],
  };
  return { kind: 'extract_staged', runId: 'daily-20261122', municipality, manifest: manifest as never, alreadyDone: false };
}

/** Feeds events with a clock that advances 10 s per event; returns the printed lines. */
function printed(style: { color: boolean; tty: boolean }, events: RunEvent[]): { lines: string[]; printer: ProgressPrinter } {
  const lines: string[] = [];
  let t = 0;
  const printer = new ProgressPrinter(
    names,
    style,
    (l) => lines.push(l),
    () => (t += 10_000),
  );
  for (const e of events) printer.record(e);
  return { lines, printer };
}

const run = 'daily-20261122';
const EVENTS: RunEvent[] = [
  { kind: 'extract_started', runId: run, municipality: '3509502', attempt: 1 },
  { kind: 'extract_started', runId: run, municipality: '3548500', attempt: 1 },
  { kind: 'extract_failed', runId: run, municipality: '3548500', errorClass: 'source_unreachable', message: 'connect ECONNREFUSED', willRetry: true },
  staged('3509502', 8414, 2_000_000, 4),
  { kind: 'extract_started', runId: run, municipality: '3548500', attempt: 2 },
  { kind: 'extract_failed', runId: run, municipality: '3552205', errorClass: 'source_auth', message: 'password authentication failed', willRetry: false },
  {
    kind: 'load_finished',
    runId: run,
    loadId: 'l1',
    missingManifests: [],
    outcomes: [{ municipality: '3509502', status: 'loaded' }] as never,
  },
];

describe('progress a person can follow', () => {
  it('piped: plain words, [n/N], rows, MB and MB/s, retry classes, an ETA, no escape codes or symbols', () => {
    const { lines, printer } = printed({ color: false, tty: false }, EVENTS);
    const text = lines.join('\n');
    // eslint-disable-next-line no-control-regex -- an ANSI escape (ESC) is exactly what must not be there
    expect(text).not.toMatch(/\x1b|[✓✗↻…●]/);
    expect(lines[0]).toBe('  [0/4] 3509502 Campinas       extracting');
    expect(text).toContain('[0/4] 3548500 Santos         will retry (source_unreachable): connect ECONNREFUSED');
    expect(text).toMatch(/\[1\/4\] 3509502 Campinas {7}staged 8,414 rows, 2\.00 MB in 4\.0 s, 0\.50 MB\/s, PEC 5\.5\.12 — ETA \d+:\d\d/);
    expect(text).toContain('3548500 Santos         extracting, attempt 2');
    expect(text).toContain('[2/4] 3552205 Sorocaba       FAILED (source_auth), dead-lettered (not retried): password authentication failed');
    expect(text).toContain('[1/4 loaded] 3509502 Campinas       loaded');
    expect(printer.retrySummary()).toBe('retries: source_unreachable ×1');
  });

  it('on a terminal: colour and symbols; NO_COLOR keeps the symbols and drops the colour', () => {
    const tty = printed({ color: true, tty: true }, EVENTS).lines.join('\n');
    expect(tty).toContain('\x1b[31mFAILED (source_auth), dead-lettered (not retried)\x1b[0m');
    expect(tty).toContain('✓ 3509502');
    expect(tty).toContain('↻ 3548500');
    const noColor = printed(terminalStyle({ isTTY: true }, { NO_COLOR: '1' }), EVENTS).lines.join('\n');
    expect(noColor).not.toContain('\x1b[');
    expect(noColor).toContain('✗ 3552205');
  });

  it('style follows the stream and NO_COLOR', () => {
    expect(terminalStyle({ isTTY: true }, {})).toEqual({ tty: true, color: true });
    expect(terminalStyle({ isTTY: false }, {})).toEqual({ tty: false, color: false });
    expect(terminalStyle({ isTTY: true }, { NO_COLOR: '' })).toEqual({ tty: true, color: true });
    expect(terminalStyle({ isTTY: true }, { NO_COLOR: '1' })).toEqual({ tty: true, color: false });
  });

  it('ETA from the pace so far; durations as m:ss', () => {
    expect(eta(0, 10, 30)).toBeUndefined();
    expect(eta(2, 10, 30)).toBe(120);
    expect(eta(10, 10, 30)).toBeUndefined();
    expect(duration(75)).toBe('1:15');
    expect(duration(3723)).toBe('1:02:03');
  });

  it('a status line rewrites itself on a terminal and prints each update when piped', () => {
    let tty = '';
    const a = new StatusLine({ color: false, tty: true }, (s) => (tty += s));
    a.update('seeding a');
    a.update('seeding b');
    a.done('seeded');
    expect(tty).toBe('\r\x1b[2Kseeding a\r\x1b[2Kseeding b\r\x1b[2Kseeded\n');
    let piped = '';
    const b = new StatusLine({ color: false, tty: false }, (s) => (piped += s));
    b.update('seeding a');
    b.done('seeded');
    expect(piped).toBe('seeding a\nseeded\n');
  });
});
