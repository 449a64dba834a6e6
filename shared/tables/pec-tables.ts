import { z } from 'zod';
import { TableRegistry, type ColumnDef, type TableDef } from '../contracts/tables';

/**
 * The PEC tables the pipeline extracts (data-warehouse star schema, schema `public`; plus the two
 * transactional team tables that hold the team type and its history: tb_tipo_equipe, tb_equipe, ta_equipe).
 * Personal-data columns carry their policy here and nowhere else.
 */

type ColumnInput = z.input<typeof import('../contracts/tables').ColumnDef>;
const bigint = (name: string, description?: string): ColumnInput => ({ name, type: 'bigint', description });
const int = (name: string): ColumnInput => ({ name, type: 'integer' });
const text = (name: string, description?: string): ColumnInput => ({ name, type: 'text', description });
const hashed = (name: string, kind: 'cpf' | 'cns'): ColumnInput => ({ name, type: 'text', pii: { kind, policy: 'hash' } });
const dropped = (name: string, kind: NonNullable<ColumnInput['pii']>['kind'], type: ColumnInput['type'] = 'text'): ColumnInput => ({
  name,
  type,
  pii: { kind, policy: 'drop' },
});
const birthDate = (name: string, type: 'date' | 'bigint' = 'date'): ColumnInput => ({
  name,
  type,
  pii: { kind: 'birth_date', policy: 'keep', reason: 'age bands drive the indicators (cytology 25–64, children’s vaccination); restricted by policy tag' },
});
const microArea = (name: string): ColumnInput => ({
  name,
  type: 'text',
  pii: { kind: 'micro_area', policy: 'keep', reason: 'community-health-agent coverage is reported per micro-area; quasi-identifier, restricted by policy tag' },
});
/** The dimension FKs of a fact attributed to two professionals (`_2` is the sentinel in ~99 % of rows). */
const attribution = (...suffixes: string[]): ColumnInput[] =>
  suffixes.flatMap((s) => ['co_dim_profissional', 'co_dim_cbo', 'co_dim_unidade_saude', 'co_dim_equipe'].map((c) => bigint(`${c}${s}`)));

const ALL_INSTALLATION = { kind: 'installation' } as const;
const BY_MUNICIPIO = { kind: 'column', column: 'co_dim_municipio' } as const;
const FULL = { kind: 'full' } as const;
const BY_DAY = { kind: 'window', column: 'co_dim_tempo', keyFormat: 'yyyymmdd' } as const;

/**
 * PEC columns known and deliberately not extracted (not reported as drift): every dimension's
 * search column `ds_filtro`, plus the per-table ones listed with their tables.
 */
const NOT_EXTRACTED: Record<string, string[]> = {
  tb_dim_cbo: ['st_registro_valido'],
  tb_dim_cid: ['st_registro_valido'],
  tb_dim_ciap: ['st_registro_valido'],
  tb_dim_procedimento: ['st_registro_valido'],
  tb_dim_imunobiologico: ['st_registro_valido'],
  // The DW documentation lists a display order (co_ordem) in this dimension: the marts never sort by it.
  tb_dim_identidade_genero: ['co_ordem'],
  // The transactional team tables (below): the type's acronym and name, the team's unit and status are not read.
  tb_tipo_equipe: ['sg_tipo_equipe', 'no_tipo_equipe'],
  tb_equipe: ['co_unidade_saude', 'st_ativo'],
  // The audit rows carry the team's whole row; the type rule reads its key, INE and type only (st_ativo flips
  // with unrelated edits, so it never decides the type: docs/indicators/common.md, "Team type").
  ta_equipe: ['st_ativo', 'co_unidade_saude'],
  tb_fat_cad_individual: ['st_doenca_cardiaca', 'st_doenca_respiratoria', 'st_acamado', 'st_ficha_inativa', 'co_dim_municipio_cidadao'],
  tb_fat_atendimento_individual: ['nu_uuid_ficha'],
  tb_fat_vacinacao: ['nu_uuid_ficha'],
};

const dimension = (name: string, description: string, columns: ColumnInput[]) => ({
  name,
  description,
  primaryKey: [columns[0]!.name],
  municipality: ALL_INSTALLATION,
  mode: FULL,
  columns,
  ignoredColumns: ['ds_filtro', ...(NOT_EXTRACTED[name] ?? [])],
});

const tables: z.input<typeof TableRegistry> = [
  dimension('tb_dim_tempo', 'Calendar; co_seq_dim_tempo is the date as YYYYMMDD, 30001231 means unknown', [
    bigint('co_seq_dim_tempo'),
    { name: 'dt_registro', type: 'date' },
    int('nu_dia'),
    int('nu_mes'),
    int('nu_ano'),
    text('ds_dia_semana'),
  ]),
  dimension('tb_dim_uf', 'Federative units (states)', [bigint('co_seq_dim_uf'), text('co_uf'), text('sg_uf'), text('no_uf')]),
  dimension('tb_dim_municipio', 'Municipalities known to the installation', [
    bigint('co_seq_dim_municipio'),
    text('no_municipio'),
    text('co_ibge', 'IBGE code, 7 digits'),
    bigint('co_dim_uf'),
    int('st_registro_valido'),
  ]),
  dimension('tb_dim_unidade_saude', 'Health units (no municipality column: installation-wide)', [
    bigint('co_seq_dim_unidade_saude'),
    text('nu_cnes', 'CNES, 7 digits'),
    text('no_unidade_saude'),
    text('no_bairro'),
    int('st_registro_valido'),
  ]),
  dimension('tb_dim_equipe', 'Teams (no municipality column: installation-wide)', [
    bigint('co_seq_dim_equipe'),
    text('nu_ine', 'INE, 10 digits'),
    text('no_equipe'),
    int('st_registro_valido'),
  ]),
  dimension('tb_dim_profissional', 'Professionals; the CNS is pseudonymised, the name is never extracted', [
    bigint('co_seq_dim_profissional'),
    hashed('nu_cns', 'cns'),
    dropped('no_profissional', 'name'),
    int('st_registro_valido'),
  ]),
  dimension('tb_dim_cbo', 'Occupations (CBO)', [bigint('co_seq_dim_cbo'), text('nu_cbo'), text('no_cbo')]),
  dimension('tb_dim_cid', 'ICD-10 codes', [bigint('co_seq_dim_cid'), text('nu_cid'), text('no_cid')]),
  dimension('tb_dim_ciap', 'ICPC-2 (CIAP) codes', [bigint('co_seq_dim_ciap'), text('nu_ciap'), text('no_ciap')]),
  dimension('tb_dim_procedimento', 'Procedures: SIGTAP 10-digit or AB… codes', [bigint('co_seq_dim_procedimento'), text('co_proced'), text('no_proced')]),
  dimension('tb_dim_sexo', 'Sex of the citizen', [bigint('co_seq_dim_sexo'), text('sg_sexo'), text('ds_sexo')]),
  // C7 counts transgender men and leaves transgender women out (docs/indicators/womens-cancer-prevention.md). A PEC
  // without this dimension fails this table alone; C7 then falls back to the recorded sex.
  dimension('tb_dim_identidade_genero', 'Gender identity; nu_identificador holds the LEDI code (149 trans man, 150 trans woman)', [
    bigint('co_seq_dim_identidade_genero'),
    text('nu_identificador'),
    text('ds_identidade_genero'),
  ]),
  // The team type (eSF 70, eAP 76) is not in the data warehouse: it lives in two small transactional tables of the
  // same database (docs/indicators/common.md, "Team type"). Only the keys and the Ministry's code are read; neither
  // table holds a person. Every column fails when missing (whenMissing 'fail', the default): without its code or key
  // the table says nothing, so a PEC lacking one fails that table alone, loads no row, and every team's type is
  // unknown — the marts then count its teams as if both tables were absent (no eSF/eAP filter, no eAP exception).
  dimension('tb_tipo_equipe', 'Transactional: kinds of team; nu_ms is the Ministry of Health code (70 eSF, 76 eAP)', [
    bigint('co_seq_tipo_equipe'),
    text('nu_ms', "Ministry of Health team-type code, varchar(4): '70' eSF, '76' eAP (never the sequential id nor the acronym)"),
  ]),
  dimension('tb_equipe', 'Transactional: the current state of each team; joined to tb_dim_equipe by the INE', [
    bigint('co_seq_equipe'),
    text('nu_ine', 'INE, 10 digits (the same as tb_dim_equipe.nu_ine)'),
    bigint('tp_equipe', 'the kind of team: tb_tipo_equipe.co_seq_tipo_equipe (a sequential id, not the Ministry code)'),
  ]),
  // The audit history of tb_equipe: each row is a team's state right after an insertion ('I') or an update ('U'),
  // stamped dt_auditoria. The marts take each team's type on a period's last day from it (the last state up to that
  // day); a PEC without the table or one of these columns fails this table alone, loads no row, and the marts fall
  // back to the current type (tb_equipe) in every period, as before the history was read.
  dimension('ta_equipe', 'Transactional: the audit history of tb_equipe (one row per change: the state after it)', [
    bigint('co_seq_taequipe'),
    { name: 'dt_auditoria', type: 'timestamp', description: 'when the change was recorded (local time of the PEC)' },
    text('co_tipo_auditoria', "kind of change: 'I' insertion, 'U' update ('D', a deletion, ends the team row's state)"),
    bigint('co_seq_equipe', 'the team row changed (tb_equipe.co_seq_equipe)'),
    text('nu_ine', 'INE after the change (the same as tb_dim_equipe.nu_ine)'),
    bigint('tp_equipe', 'the kind of team after the change: tb_tipo_equipe.co_seq_tipo_equipe'),
  ]),
  dimension('tb_dim_imunobiologico', 'Vaccines', [bigint('co_seq_dim_imunobiologico'), text('nu_identificador'), text('sg_imunobiologico'), text('no_imunobiologico')]),
  dimension('tb_dim_dose_imunobiologico', 'Vaccine doses', [bigint('co_seq_dim_dose_imunobiologico'), text('nu_identificador'), text('no_dose_imunobiologico')]),
  dimension('tb_dim_local_atendimento', 'Places of care', [bigint('co_seq_dim_local_atendimento'), text('nu_identificador'), text('ds_local_atendimento')]),
  dimension('tb_dim_tipo_atendimento', 'Kinds of consultation', [bigint('co_seq_dim_tipo_atendimento'), text('nu_identificador'), text('ds_tipo_atendimento')]),
  {
    name: 'tb_fat_cidadao_pec',
    description: 'One row per citizen record (the same person may have several); no event date, so a full refresh',
    primaryKey: ['co_seq_fat_cidadao_pec'],
    municipality: BY_MUNICIPIO,
    mode: FULL,
    columns: [
      bigint('co_seq_fat_cidadao_pec'),
      bigint('co_cidadao'),
      hashed('nu_cns', 'cns'),
      hashed('nu_cpf_cidadao', 'cpf'),
      dropped('no_cidadao', 'name'),
      dropped('no_social_cidadao', 'name'),
      birthDate('co_dim_tempo_nascimento', 'bigint'),
      bigint('co_dim_sexo'),
      dropped('nu_telefone_celular', 'phone'),
      int('st_faleceu'),
      bigint('co_dim_unidade_saude_vinc'),
      bigint('co_dim_equipe_vinc'),
      bigint('co_dim_municipio'),
    ],
  },
  {
    name: 'tb_fat_cad_individual',
    description: 'Individual registrations; versioned: every update inserts a new row',
    primaryKey: ['co_seq_fat_cad_individual'],
    municipality: BY_MUNICIPIO,
    mode: BY_DAY,
    columns: [
      bigint('co_seq_fat_cad_individual'),
      text('nu_uuid_ficha'),
      text('nu_uuid_ficha_origem'),
      bigint('co_fat_cidadao_pec'),
      hashed('nu_cns', 'cns'),
      hashed('nu_cpf_cidadao', 'cpf'),
      birthDate('dt_nascimento'),
      dropped('no_nome', 'name'),
      dropped('no_nome_mae', 'name'),
      dropped('nu_celular', 'phone'),
      dropped('no_email', 'email'),
      bigint('co_dim_unidade_saude'),
      bigint('co_dim_equipe'),
      bigint('co_dim_profissional'),
      bigint('co_dim_cbo'),
      bigint('co_dim_sexo'),
      int('st_hipertensao_arterial'),
      int('st_diabete'),
      int('st_gestante'),
      int('st_fumante'),
      microArea('nu_micro_area'),
      bigint('co_dim_municipio'),
      bigint('co_dim_tempo'),
      // Self-declared gender identity of this registration version (C7). Last, so existing raw tables only gain a
      // column; NULL where a PEC version lacks it, and C7 then counts by the recorded sex alone.
      {
        name: 'co_dim_identidade_genero',
        type: 'bigint',
        description: 'gender identity (tb_dim_identidade_genero) declared in this registration version; the sentinel when not declared',
        whenMissing: 'null',
      },
    ],
  },
  {
    name: 'tb_fat_atendimento_individual',
    description: 'One row per individual consultation',
    primaryKey: ['co_seq_fat_atd_ind'],
    municipality: BY_MUNICIPIO,
    mode: BY_DAY,
    columns: [
      bigint('co_seq_fat_atd_ind'),
      bigint('co_fat_cidadao_pec'),
      hashed('nu_cns', 'cns'),
      hashed('nu_cpf_cidadao', 'cpf'),
      dropped('nu_prontuario', 'record_number'),
      birthDate('dt_nascimento'),
      { name: 'dt_inicial_atendimento', type: 'timestamp' },
      { name: 'dt_final_atendimento', type: 'timestamp' },
      ...attribution('_1', '_2'),
      bigint('co_dim_local_atendimento'),
      bigint('co_dim_tipo_atendimento'),
      bigint('co_dim_sexo'),
      { name: 'nu_peso', type: 'double' },
      { name: 'nu_altura', type: 'double' },
      // PEC 5.5 names; older versions use nu_medicao_pressao_* and nu_idade_gestacional.
      { name: 'nu_pressao_sistolica', type: 'numeric', aliases: ['nu_medicao_pressao_sistolica'], whenMissing: 'null' },
      { name: 'nu_pressao_diastolica', type: 'numeric', aliases: ['nu_medicao_pressao_diastolica'], whenMissing: 'null' },
      bigint('co_dim_tempo_dum', 'last menstrual period as YYYYMMDD; 30001231 when unknown'),
      { name: 'nu_idade_gestacional_semanas', type: 'integer', aliases: ['nu_idade_gestacional'], whenMissing: 'null' },
      text('ds_filtro_cids', "pipe-delimited, e.g. '|I10|E119|'"),
      text('ds_filtro_ciaps', "pipe-delimited, e.g. '|K86|T90|'"),
      text('ds_filtro_proced_avaliados'),
      text('ds_filtro_proced_solicitados'),
      bigint('co_dim_municipio'),
      bigint('co_dim_tempo'),
    ],
  },
  {
    name: 'tb_fat_atendimento_odonto',
    description: 'One row per dental consultation (Previne Brasil 3, C3: dental care during pregnancy)',
    primaryKey: ['co_seq_fat_atd_odnt'],
    municipality: BY_MUNICIPIO,
    mode: BY_DAY,
    columns: [
      bigint('co_seq_fat_atd_odnt'),
      bigint('co_fat_cidadao_pec'),
      hashed('nu_cns', 'cns'),
      hashed('nu_cpf_cidadao', 'cpf'),
      birthDate('dt_nascimento'),
      ...attribution('_1', '_2'),
      bigint('co_dim_local_atendimento'),
      bigint('co_dim_tipo_atendimento'),
      bigint('co_dim_sexo'),
      int('st_gestante'),
      bigint('co_dim_municipio'),
      bigint('co_dim_tempo'),
    ],
  },
  {
    name: 'tb_fat_atd_ind_problemas',
    description: 'Problems/diagnoses of a consultation: a CID or a CIAP (the other is the sentinel)',
    primaryKey: ['co_seq_fat_atd_ind_problemas'],
    municipality: BY_MUNICIPIO,
    mode: BY_DAY,
    columns: [
      bigint('co_seq_fat_atd_ind_problemas'),
      bigint('co_fat_atd_ind'),
      bigint('co_fat_cidadao_pec'),
      bigint('co_dim_cid'),
      bigint('co_dim_ciap'),
      // The end of the problem as YYYYMMDD when the problem list marks it resolved: for the pregnancy (W78) it is the
      // "Data de desfecho da gestação" (C3, docs/indicators/prenatal.md). NULL where a PEC version lacks the column.
      {
        name: 'co_dim_data_fim_problema',
        type: 'bigint',
        description: 'end of the problem (resolved) as YYYYMMDD; 30001231 or the sentinel when none',
        whenMissing: 'null',
      },
      ...attribution('_1', '_2'),
      bigint('co_dim_municipio'),
      bigint('co_dim_tempo'),
    ],
  },
  {
    name: 'tb_fat_atd_ind_procedimentos',
    description: 'Exams requested or evaluated in a consultation',
    primaryKey: ['co_seq_fat_atd_ind_procedimentos'],
    municipality: BY_MUNICIPIO,
    mode: BY_DAY,
    columns: [
      bigint('co_seq_fat_atd_ind_procedimentos'),
      bigint('co_fat_atd_ind'),
      bigint('co_fat_cidadao_pec'),
      bigint('co_dim_procedimento_solicitado'),
      bigint('co_dim_procedimento_avaliado'),
      ...attribution('_1'),
      bigint('co_dim_municipio'),
      bigint('co_dim_tempo'),
    ],
  },
  {
    name: 'tb_fat_proced_atend_proced',
    description: 'Procedures performed (blood-pressure measurement, cytology collection, …)',
    primaryKey: ['co_seq_fat_proced_atend_proced'],
    municipality: BY_MUNICIPIO,
    mode: BY_DAY,
    columns: [
      bigint('co_seq_fat_proced_atend_proced'),
      bigint('co_fat_cidadao_pec'),
      hashed('nu_cns', 'cns'),
      bigint('co_dim_procedimento'),
      ...attribution(''),
      bigint('co_dim_municipio'),
      bigint('co_dim_tempo'),
    ],
  },
  {
    name: 'tb_fat_visita_domiciliar',
    description: 'Home visits by community health agents',
    primaryKey: ['co_seq_fat_visita_domiciliar'],
    municipality: BY_MUNICIPIO,
    mode: BY_DAY,
    columns: [
      bigint('co_seq_fat_visita_domiciliar'),
      bigint('co_fat_cidadao_pec'),
      hashed('nu_cns', 'cns'),
      ...attribution(''),
      bigint('co_dim_desfecho_visita'),
      microArea('nu_micro_area'),
      // The PEC DW's names for the motives "hypertension" and "diabetes" (person-prefixed, unlike gestante/crianca).
      int('st_acomp_pessoa_hipertensao'),
      int('st_acomp_pessoa_diabetes'),
      int('st_acomp_gestante'),
      // Visit motives "newborn" and "child": C2 counts only the visits recorded with one of them.
      int('st_acomp_recem_nascido'),
      int('st_acomp_crianca'),
      dropped('nu_latitude', 'location', 'double'),
      dropped('nu_longitude', 'location', 'double'),
      bigint('co_dim_municipio'),
      bigint('co_dim_tempo'),
    ],
  },
  {
    name: 'tb_fat_vacinacao',
    description: 'Vaccination records (header: carries the person)',
    primaryKey: ['co_seq_fat_vacinacao'],
    municipality: BY_MUNICIPIO,
    mode: BY_DAY,
    columns: [
      bigint('co_seq_fat_vacinacao'),
      bigint('co_fat_cidadao_pec'),
      hashed('nu_cns', 'cns'),
      hashed('nu_cpf_cidadao', 'cpf'),
      birthDate('dt_nascimento'),
      bigint('co_dim_sexo'),
      ...attribution(''),
      int('st_gestante'),
      bigint('co_dim_municipio'),
      bigint('co_dim_tempo'),
    ],
  },
  {
    name: 'tb_fat_vacinacao_vacina',
    description: 'One row per vaccine dose applied',
    primaryKey: ['co_seq_fat_vacinacao_vacina'],
    municipality: BY_MUNICIPIO,
    mode: BY_DAY,
    columns: [
      bigint('co_seq_fat_vacinacao_vacina'),
      bigint('co_fat_vacinacao'),
      bigint('co_fat_cidadao_pec'),
      bigint('co_dim_imunobiologico'),
      bigint('co_dim_dose_imunobiologico'),
      bigint('co_dim_tempo_vacina_aplicada'),
      text('no_lote', 'lot number; free text'),
      bigint('co_dim_municipio'),
      bigint('co_dim_tempo'),
    ],
  },
];

for (const t of tables) if (!t.name.startsWith('tb_dim_') && NOT_EXTRACTED[t.name]) t.ignoredColumns = NOT_EXTRACTED[t.name];

/** The validated table registry. Parsing at import time makes a bad entry fail every entry point at once. */
export const PEC_TABLES: readonly TableDef[] = TableRegistry.parse(tables);

export const PEC_TABLE_NAMES = PEC_TABLES.map((t) => t.name);

export function getTable(name: string, registry: readonly TableDef[] = PEC_TABLES): TableDef {
  const table = registry.find((t) => t.name === name);
  if (!table) throw new Error(`unknown table "${name}"`);
  return table;
}

export type { ColumnDef };
