import { COLUMN_TYPES } from '../../shared/contracts/tables';
import { PEC_TABLES } from '../../shared/tables/pec-tables';

/**
 * DDL of a synthetic PEC data warehouse (schema `public`), derived from the table registry so the
 * source the tests extract from can never lack a column the extractor reads. Everything here must
 * run on PostgreSQL 9.6, the PEC's bundled server: plain CREATE TABLE / ALTER TABLE / CREATE INDEX,
 * no generated or identity columns, no procedures, no newer IF NOT EXISTS forms.
 */

export const PEC_VERSIONS = ['5.5', '5.2'] as const;
export type PecVersion = (typeof PEC_VERSIONS)[number];

export interface PecColumn {
  /** Name in this PEC version. */
  name: string;
  /** Name the generator knows it by: the registry name (5.5), or the extra column's own name. */
  logicalName: string;
  sqlType: string;
  notNull: boolean;
  /** Read by the extractor (listed in the registry). */
  extracted: boolean;
}

export interface PecTable {
  name: string;
  kind: 'dimension' | 'fact' | 'metadata';
  extracted: boolean;
  primaryKey: string[];
  columns: PecColumn[];
  /** Secondary indexes, each a column list. */
  indexes: string[][];
}

type Extra = readonly [name: string, sqlType: string];

/** Realistic columns the extractor does not read; they keep the extractor honest about `SELECT *`. */
const EXTRA_COLUMNS: Record<string, readonly Extra[]> = {
  tb_dim_cbo: [['st_registro_valido', 'integer']],
  tb_dim_cid: [['st_registro_valido', 'integer']],
  tb_dim_ciap: [['st_registro_valido', 'integer']],
  tb_dim_procedimento: [['st_registro_valido', 'integer']],
  tb_dim_imunobiologico: [['st_registro_valido', 'integer']],
  tb_dim_identidade_genero: [['co_ordem', 'integer']],
  tb_tipo_equipe: [
    ['sg_tipo_equipe', 'text'],
    ['no_tipo_equipe', 'text'],
  ],
  tb_equipe: [
    ['co_unidade_saude', 'bigint'],
    ['st_ativo', 'integer'],
  ],
  ta_equipe: [
    ['co_unidade_saude', 'bigint'],
    ['st_ativo', 'integer'],
  ],
  tb_fat_cad_individual: [
    ['st_doenca_cardiaca', 'integer'],
    ['st_doenca_respiratoria', 'integer'],
    ['st_acamado', 'integer'],
    ['st_ficha_inativa', 'integer'],
    // The citizen's birthplace: a municipality FK that is *not* the municipality filter.
    ['co_dim_municipio_cidadao', 'bigint'],
  ],
  tb_fat_atendimento_individual: [['nu_uuid_ficha', 'text']],
  tb_fat_vacinacao: [['nu_uuid_ficha', 'text']],
};

/** Tables present in every PEC that the pipeline does not extract. */
const UNEXTRACTED_TABLES: readonly { name: string; kind: PecTable['kind']; columns: readonly (readonly [string, string, boolean])[] }[] = [
  {
    name: 'tb_dim_desfecho_visita',
    kind: 'dimension',
    columns: [
      ['co_seq_dim_desfecho_visita', 'bigint', true],
      ['nu_identificador', 'text', false],
      ['ds_desfecho_visita', 'text', false],
    ],
  },
  {
    name: 'tb_migracao',
    kind: 'metadata',
    columns: [
      ['co_seq_migracao', 'bigint', true],
      ['ds_filename', 'text', true],
      ['dt_executado', 'timestamp', true],
    ],
  },
  {
    name: 'tb_relatorio_processamento',
    kind: 'metadata',
    columns: [
      ['co_seq_relatorio_processamento', 'bigint', true],
      ['dt_processamento', 'timestamp', true],
      ['ds_tipo', 'text', false],
    ],
  },
];

/**
 * Column naming per version. 5.2 predates the renames the registry records as `aliases`
 * (nu_medicao_pressao_* → nu_pressao_*, nu_idade_gestacional → nu_idade_gestacional_semanas),
 * so there a column with aliases carries its first alias.
 */
function physicalName(name: string, aliases: readonly string[], version: PecVersion): string {
  return version === '5.2' && aliases.length > 0 ? aliases[0]! : name;
}

function withDimensionExtras(tableName: string, columns: PecColumn[]): PecColumn[] {
  const extras: Extra[] = [...(EXTRA_COLUMNS[tableName] ?? [])];
  if (tableName.startsWith('tb_dim_')) extras.push(['ds_filtro', 'text']);
  const out = [...columns];
  for (const [name, sqlType] of extras) {
    if (out.some((c) => c.logicalName === name)) continue;
    out.push({ name, logicalName: name, sqlType, notNull: false, extracted: false });
  }
  return out;
}

/** Every table of the synthetic PEC, in creation order (dimensions first). */
export function pecTables(version: PecVersion = '5.5'): PecTable[] {
  const registered: PecTable[] = PEC_TABLES.map((t) => {
    const columns: PecColumn[] = t.columns.map((c) => ({
      name: physicalName(c.name, c.aliases, version),
      logicalName: c.name,
      sqlType: COLUMN_TYPES[c.type].postgres,
      notNull: t.primaryKey.includes(c.name),
      extracted: true,
    }));
    const indexes: string[][] = [];
    if (t.municipality.kind === 'column') {
      indexes.push(t.mode.kind === 'window' ? [t.municipality.column, t.mode.column] : [t.municipality.column]);
    }
    return {
      name: t.name,
      // Installation-wide tables (the DW dimensions and the transactional team tables) load before the facts.
      kind: t.municipality.kind === 'installation' ? 'dimension' : 'fact',
      extracted: true,
      primaryKey: [...t.primaryKey],
      columns: withDimensionExtras(t.name, columns),
      indexes,
    };
  });
  const others: PecTable[] = UNEXTRACTED_TABLES.map((t) => ({
    name: t.name,
    kind: t.kind,
    extracted: false,
    primaryKey: [t.columns[0]![0]],
    columns: withDimensionExtras(
      t.name,
      t.columns.map(([name, sqlType, notNull]) => ({ name, logicalName: name, sqlType, notNull, extracted: false })),
    ),
    indexes: [],
  }));
  return [...registered.filter((t) => t.kind === 'dimension'), ...others, ...registered.filter((t) => t.kind === 'fact')];
}

function constraintName(prefix: string, table: string, suffix: string): string {
  const name = `${prefix}_${table}${suffix}`;
  // PostgreSQL would silently truncate a longer name, and two truncated names could then collide.
  if (name.length > 63) throw new Error(`constraint/index name too long for PostgreSQL: ${name}`);
  return name;
}

/** The DDL in two parts, so a loader can create bare tables, COPY into them, then build keys and indexes. */
export function pecSchemaParts(version: PecVersion = '5.5'): { tables: string; constraints: string } {
  const tables: string[] = [];
  const constraints: string[] = [];
  for (const t of pecTables(version)) {
    const cols = t.columns.map((c) => `  ${c.name} ${c.sqlType}${c.notNull ? ' NOT NULL' : ''}`);
    tables.push(`CREATE TABLE public.${t.name} (\n${cols.join(',\n')}\n);`);
    const pkColumns = t.primaryKey.map((k) => t.columns.find((c) => c.logicalName === k)!.name);
    constraints.push(`ALTER TABLE public.${t.name} ADD CONSTRAINT ${constraintName('pk', t.name, '')} PRIMARY KEY (${pkColumns.join(', ')});`);
    for (const index of t.indexes) {
      const suffix = index.length === 2 && index[0] === 'co_dim_municipio' && index[1] === 'co_dim_tempo' ? '_mun_tempo' : `_${index.join('_')}`;
      constraints.push(`CREATE INDEX ${constraintName('in', t.name, suffix)} ON public.${t.name} (${index.join(', ')});`);
    }
  }
  return { tables: tables.join('\n\n') + '\n', constraints: constraints.join('\n') + '\n' };
}

/** The whole DDL of a synthetic PEC of the given version. */
export function pecSchemaSql(version: PecVersion = '5.5'): string {
  const { tables, constraints } = pecSchemaParts(version);
  return `${tables}\n${constraints}`;
}

export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new Error('invalid SQL identifier');
  return `"${name.replaceAll('"', '""')}"`;
}

/** A string literal that reads the same whatever standard_conforming_strings is set to. */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('a SQL string literal cannot contain NUL');
  const body = value.replaceAll("'", "''");
  return value.includes('\\') ? `E'${body.replaceAll('\\', '\\\\')}'` : `'${body}'`;
}

function dollarQuote(body: string): string {
  let tag = 'do';
  for (let i = 0; body.includes(`$${tag}$`); i++) tag = `do${i}`;
  return `$${tag}$${body}$${tag}$`;
}

/**
 * A read-only login role like the PEC's `esus_leitura`: can connect and SELECT everything in
 * `public`, and every transaction it opens is read-only by default. Run it connected to `database`
 * (GRANT SELECT ON ALL TABLES only covers the current database). Idempotent: an existing role
 * gets its password reset.
 */
export function readOnlyRoleSql(role: string, password: string, database: string): string {
  const r = quoteIdentifier(role);
  const body = `
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(role)}) THEN
    CREATE ROLE ${r} LOGIN PASSWORD ${quoteLiteral(password)};
  ELSE
    ALTER ROLE ${r} LOGIN PASSWORD ${quoteLiteral(password)};
  END IF;
END
`;
  return [
    `DO ${dollarQuote(body)};`,
    `GRANT CONNECT ON DATABASE ${quoteIdentifier(database)} TO ${r};`,
    `GRANT USAGE ON SCHEMA public TO ${r};`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${r};`,
    `ALTER ROLE ${r} SET default_transaction_read_only = on;`,
  ].join('\n');
}
