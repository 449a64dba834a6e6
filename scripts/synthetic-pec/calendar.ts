/**
 * Dates as day numbers (days since 1970-01-01, UTC) with cached text forms: the generator formats
 * millions of dates, and the history spans only a few hundred distinct days.
 */

const DAY_MS = 86_400_000;

export const dayNumber = (iso: string): number => Date.UTC(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, Number(iso.slice(8, 10))) / DAY_MS;
export const isoOfDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);
export const ymdOfDay = (day: number): string => isoOfDay(day).replaceAll('-', '');
/** 0 = Sunday. */
export const weekdayOfDay = (day: number): number => (((day + 4) % 7) + 7) % 7;

export const WEEKDAY_NAMES = ['Domingo', 'Segunda-feira', 'Terça-feira', 'Quarta-feira', 'Quinta-feira', 'Sexta-feira', 'Sábado'] as const;

/** The same calendar date `months` earlier (clamped to the month's last day). */
export function minusMonths(iso: string, months: number): number {
  const y = Number(iso.slice(0, 4));
  const m = Number(iso.slice(5, 7)) - 1 - months;
  const d = Number(iso.slice(8, 10));
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(d, last)) / DAY_MS;
}

export interface MonthSlice {
  first: number;
  last: number;
}

export class Calendar {
  /** Whole calendar years around the history, as the PEC pre-fills tb_dim_tempo. */
  readonly first: number;
  readonly last: number;
  private readonly isoCache: string[] = [];
  private readonly ymdCache: string[] = [];

  constructor(
    readonly historyStart: number,
    readonly historyEnd: number,
  ) {
    const startYear = new Date(historyStart * DAY_MS).getUTCFullYear();
    const endYear = new Date(historyEnd * DAY_MS).getUTCFullYear();
    this.first = Date.UTC(startYear - 1, 0, 1) / DAY_MS;
    this.last = Date.UTC(endYear, 11, 31) / DAY_MS;
    for (let d = this.first; d <= this.last; d++) {
      const iso = isoOfDay(d);
      this.isoCache.push(iso);
      this.ymdCache.push(iso.replaceAll('-', ''));
    }
  }

  iso(day: number): string {
    return this.isoCache[day - this.first] ?? isoOfDay(day);
  }

  /** The tb_dim_tempo key, YYYYMMDD. */
  ymd(day: number): string {
    return this.ymdCache[day - this.first] ?? ymdOfDay(day);
  }

  /** Calendar months cut to the history: the first and last are usually partial. */
  monthSlices(): MonthSlice[] {
    const slices: MonthSlice[] = [];
    let first = this.historyStart;
    while (first <= this.historyEnd) {
      const date = new Date(first * DAY_MS);
      const monthEnd = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0) / DAY_MS;
      const last = Math.min(monthEnd, this.historyEnd);
      slices.push({ first, last });
      first = last + 1;
    }
    return slices;
  }
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
const HOUR_MINUTE: readonly string[] = Array.from({ length: 1440 }, (_, m) => `${pad2(Math.floor(m / 60))}:${pad2(m % 60)}:`);
const SECONDS: readonly string[] = Array.from({ length: 60 }, (_, s) => pad2(s));

/** "HH:MM:SS" for a second of the day. */
export const timeOfDay = (second: number): string => HOUR_MINUTE[Math.floor(second / 60)]! + SECONDS[second % 60];

/** A Date as a `timestamp without time zone` literal, from its UTC fields. */
export const timestampText = (date: Date): string =>
  date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.000Z$|Z$/, '');
