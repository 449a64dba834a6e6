import type { Rng } from './prng';

/**
 * Brazilian personal documents with real check digits, so validators in the pipeline (and in
 * Power BI) treat synthetic people like real ones.
 */

function cpfCheckDigit(digits: string, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += (digits.charCodeAt(i) - 48) * (length + 1 - i);
  const rest = (sum * 10) % 11;
  return rest === 10 ? 0 : rest;
}

/** CPF: 11 digits, not all equal, with both check digits right. */
export function isValidCpf(cpf: string): boolean {
  if (!/^\d{11}$/.test(cpf) || /^(\d)\1{10}$/.test(cpf)) return false;
  return cpfCheckDigit(cpf, 9) === cpf.charCodeAt(9) - 48 && cpfCheckDigit(cpf, 10) === cpf.charCodeAt(10) - 48;
}

export function makeCpf(rng: Rng): string {
  for (;;) {
    const base = rng.digits(9);
    if (/^(\d)\1{8}$/.test(base)) continue;
    const d1 = cpfCheckDigit(base, 9);
    const withD1 = base + d1;
    return withD1 + cpfCheckDigit(withD1, 10);
  }
}

/** Σ digit × weight with weights 15, 14, … over the first `length` digits. */
function cnsWeightedSum(cns: string, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += (cns.charCodeAt(i) - 48) * (15 - i);
  return sum;
}

/**
 * The Ministry of Health's rule for a definitive CNS (first digit 1 or 2): the last four digits
 * are derived from the first eleven (the PIS).
 */
function definitiveCnsFromPis(pis: string): string {
  const sum = cnsWeightedSum(pis, 11);
  let dv = 11 - (sum % 11);
  if (dv === 11) dv = 0;
  if (dv !== 10) return `${pis}000${dv}`;
  const dv2 = 11 - ((sum + 2) % 11);
  return `${pis}001${dv2}`;
}

/**
 * CNS: 15 digits; definitive (starting 1 or 2) by the PIS rule, provisional (starting 7, 8 or 9)
 * when Σ digit × (15 − position) ≡ 0 (mod 11).
 */
export function isValidCns(cns: string): boolean {
  if (!/^\d{15}$/.test(cns)) return false;
  const first = cns[0]!;
  if (first === '1' || first === '2') return definitiveCnsFromPis(cns.slice(0, 11)) === cns;
  if (first === '7' || first === '8' || first === '9') return cnsWeightedSum(cns, 15) % 11 === 0;
  return false;
}

export function makeDefinitiveCns(rng: Rng): string {
  return definitiveCnsFromPis(String(rng.int(1, 2)) + rng.digits(10));
}

export function makeProvisionalCns(rng: Rng): string {
  for (;;) {
    const body = String(rng.int(7, 9)) + rng.digits(13);
    const last = (11 - (cnsWeightedSum(body, 14) % 11)) % 11;
    if (last < 10) return body + last;
  }
}

/**
 * Deterministic documents for the planted indicator cohort (indicator-cohort.ts): a CPF whose
 * first digit is 8 followed by the municipality's index and a serial, and a definitive CNS from a
 * PIS starting 29. Valid check digits; a random population CPF/CNS equal to one of these is a
 * one-in-a-billion event per pair.
 */
export function cohortCpf(municipalityIndex: number, n: number): string {
  const base = `8${String(municipalityIndex % 100).padStart(2, '0')}${String(n).padStart(6, '0')}`;
  const withD1 = base + cpfCheckDigit(base, 9);
  return withD1 + cpfCheckDigit(withD1, 10);
}

export function cohortCns(municipalityIndex: number, n: number): string {
  return definitiveCnsFromPis(`29${String(municipalityIndex % 100).padStart(2, '0')}${String(n).padStart(7, '0')}`);
}
