import type { TableDef } from '../../../shared/contracts/tables';
import { getTable } from '../../../shared/tables/pec-tables';

/**
 * The benchmark's fact table in two registry variants. All three contenders run the same query
 * text for a variant (the SELECT the extractor sends, taken from `copySql`), so a variant changes
 * what PostgreSQL sends, never who gets the easier query.
 */
export const BENCH_TABLE = 'tb_fat_atendimento_individual';

export type Variant = 'no-pii' | 'pii-hash';
export const VARIANTS: readonly Variant[] = ['no-pii', 'pii-hash'];

export function variantTable(variant: Variant): TableDef {
  const real = getTable(BENCH_TABLE);
  // no-pii: the same table with every personal-data column removed (nothing to hash, drop or tag).
  // pii-hash: the registry's own definition (nu_cns and nu_cpf_cidadao hashed, nu_prontuario dropped).
  return variant === 'no-pii' ? { ...real, columns: real.columns.filter((c) => !c.pii) } : real;
}

export function describeVariant(variant: Variant): string {
  const real = getTable(BENCH_TABLE);
  const pii = real.columns.filter((c) => c.pii);
  if (variant === 'no-pii') return `${real.columns.length - pii.length} columns, personal-data columns removed (${pii.map((c) => c.name).join(', ')})`;
  const by = (p: string) =>
    pii
      .filter((c) => c.pii!.policy === p)
      .map((c) => c.name)
      .join(', ');
  return `the registry's definition: ${by('hash')} hashed (HMAC-SHA-256), ${by('drop')} dropped, ${by('keep')} kept`;
}

/** The SELECT inside the extractor's `COPY (…) TO STDOUT WITH (FORMAT csv)`. */
export function selectOf(copy: string): string {
  const m = /^COPY \((.*)\) TO STDOUT WITH \(FORMAT csv\)$/s.exec(copy);
  if (!m) throw new Error(`unexpected COPY text: ${copy.slice(0, 120)}`);
  return m[1]!;
}
