import { ibgeCheckDigit } from '../../shared/contracts/ibge';
import { dayNumber, isoOfDay, WEEKDAY_NAMES, weekdayOfDay, type Calendar } from './calendar';
import { copyText, NULL } from './copy';
import { makeCpf, makeDefinitiveCns, makeProvisionalCns } from './documents';
import { cumulative, mixSeed, Rng } from './prng';
import {
  CBO_FILLER,
  CBOS,
  CIAP,
  CIAP_AB_FILLER,
  CIAP_PUERPERIUM,
  CIAP_NAMES,
  CID,
  CID_NAMES,
  CONNECTORS,
  DESFECHOS_VISITA,
  IDENTIDADES_GENERO,
  DOSES,
  EMAIL_DOMAINS,
  FEMALE_NAMES,
  LOCAIS,
  MALE_NAMES,
  NEIGHBOURHOODS,
  PROC_NAMES,
  searchText,
  SURNAMES,
  TIPOS_ATENDIMENTO,
  UFS,
  UNIT_NAMES,
  VACCINES,
  type CodeEntry,
  type Uf,
} from './vocab';

/**
 * The installation's static world: dimension rows (small, held in memory) and the citizens of every
 * municipality with the traits that drive their facts. Memory grows with citizens, never with facts.
 */

export const SENTINEL = 1;
export const SENTINEL_CODE = '-';
export const SENTINEL_NAME = 'Não informado';
/** tb_dim_tempo's "unknown date". */
export const UNKNOWN_DAY_KEY = '30001231';

export const SEX = { male: 2, female: 3 } as const;

/** Independent random streams, so one kind of data can be replayed without the others. */
export const STREAM = {
  dimensions: 1,
  profile: 2,
  registration: 3,
  care: 4,
  visits: 5,
  vaccination: 6,
  vaccineDose: 7,
  influenza: 8,
  onlyConsultations: 9,
  metadata: 10,
  lots: 11,
  dental: 12,
} as const;

export type DimValue = string | number | null;
export type DimRow = Record<string, DimValue>;

export interface Professional {
  id: number;
  cbo: number;
}

export interface Team {
  id: number;
  unitId: number;
  doctor: Professional;
  /** Left the team during the history: still referenced by the older facts, st_registro_valido = 0. */
  formerDoctor: Professional;
  nurse: Professional;
  nursingTech: Professional;
  resident: Professional;
  acs: Professional[];
  /** The team's dentist (tb_fat_atendimento_odonto). */
  dentist: Professional;
}

export interface Citizen {
  id: number;
  muni: number;
  index: number;
  coCidadao: number;
  /** COPY-ready text (escaped, or \N). */
  nameText: string;
  socialNameText: string;
  motherNameText: string;
  sex: number;
  female: boolean;
  birthDay: number;
  birthIso: string;
  birthYmd: string;
  /** Infinity while alive. */
  deathDay: number;
  cpf: string;
  cns: string;
  phone: string;
  email: string;
  prontuario: string;
  careTeam: Team;
  /** Bound to a team (co_dim_equipe_vinc); unbound citizens still get care from some team. */
  linked: boolean;
  acs: Professional;
  microArea: string;
  hypertension: boolean;
  diabetes: boolean;
  smoker: boolean;
  heartDisease: boolean;
  respiratoryDisease: boolean;
  bedridden: boolean;
  /** Last menstrual period of a pregnancy overlapping the history, or -1. */
  dum: number;
  cytologyDay: number;
  registrationDay: number;
  originUuid: string;
  birthplace: number;
  latitude: string;
  longitude: string;
  heightCm: number;
  bmi: number;
}

export interface Municipality {
  index: number;
  ibge: string;
  name: string;
  uf: Uf;
  dimId: number;
  teams: Team[];
  citizens: Citizen[];
}

export interface CodeIds {
  cbo: Map<string, number>;
  cid: Map<string, number>;
  ciap: Map<string, number>;
  procedure: Map<string, number>;
  vaccine: Map<string, number>;
  dose: Map<string, number>;
  local: Map<string, number>;
  tipo: Map<string, number>;
  desfecho: Map<string, number>;
  /** LEDI gender-identity code → tb_dim_identidade_genero id. */
  genderIdentity: Map<string, number>;
}

export interface Installation {
  dimensions: Map<string, DimRow[]>;
  codes: CodeIds;
  municipalities: Municipality[];
  /** Ids of tb_dim_municipio rows outside the installation (birthplaces). */
  otherMunicipioIds: number[];
}

export interface PopulationOptions {
  seed: number;
  municipalities: readonly { ibge: string; name: string; uf: string }[];
  citizens: number;
}

/** Teams and units grow with the population (a mid-size municipality has ~30 teams), never below a small one's handful. */
const teamsFor = (citizens: number) => Math.max(10, Math.round(citizens / 3000));
const unitsFor = (teams: number) => Math.max(8, Math.round(teams * 0.8));

class DimensionBuilder {
  readonly rows = new Map<string, DimRow[]>();

  add(table: string, row: DimRow, ...filterParts: string[]): void {
    let list = this.rows.get(table);
    if (!list) this.rows.set(table, (list = []));
    list.push({ ...row, ds_filtro: searchText(...filterParts) });
  }

  /** The next sequential id of a dimension whose ids count from the sentinel 1. */
  nextId(table: string): number {
    return (this.rows.get(table)?.length ?? 0) + 1;
  }

  /** A code dimension: sentinel id 1, then the entries; returns code → id. */
  codes(table: string, idCol: string, codeCol: string, nameCol: string, entries: readonly CodeEntry[], validCol = true): Map<string, number> {
    const ids = new Map<string, number>();
    const valid = (retired?: boolean): DimRow => (validCol ? { st_registro_valido: retired ? 0 : 1 } : {});
    this.add(table, { [idCol]: SENTINEL, [codeCol]: SENTINEL_CODE, [nameCol]: SENTINEL_NAME, ...valid(false) }, SENTINEL_NAME);
    for (const e of entries) {
      if (ids.has(e.code)) continue;
      const id = this.nextId(table);
      this.add(table, { [idCol]: id, [codeCol]: e.code, [nameCol]: e.name, ...valid(e.retired) }, e.code, e.name);
      ids.set(e.code, id);
    }
    return ids;
  }
}

function fillerCodes(prefixes: string, numbers: (i: number) => string, count: number, name: (code: string) => string, taken: ReadonlySet<string>): CodeEntry[] {
  const out: CodeEntry[] = [];
  for (const p of prefixes) {
    for (let i = 0; i < count; i++) {
      const code = p + numbers(i);
      if (taken.has(code)) continue;
      out.push({ code, name: name(code), retired: out.length % 17 === 16 });
    }
  }
  return out;
}

const named = (codes: readonly string[], names: Readonly<Record<string, string>>): CodeEntry[] => codes.map((code) => ({ code, name: names[code] ?? code }));

function codeDimensions(dims: DimensionBuilder): CodeIds {
  const cbo = dims.codes('tb_dim_cbo', 'co_seq_dim_cbo', 'nu_cbo', 'no_cbo', [...Object.values(CBOS), ...CBO_FILLER]);

  const cidExplicit = named(Object.values(CID).flat(), CID_NAMES);
  const cidTaken = new Set(cidExplicit.map((e) => e.code));
  const cidFiller = fillerCodes(
    'ABCDGHJKLMNRS',
    (i) => String(i * 9).padStart(2, '0'),
    12,
    (c) => `Agravo ${c} (descrição sintética)`,
    cidTaken,
  );
  const cid = dims.codes('tb_dim_cid', 'co_seq_dim_cid', 'nu_cid', 'no_cid', [...cidExplicit, ...cidFiller]);

  const ciapExplicit = named(Object.values(CIAP).flat(), CIAP_NAMES);
  const ciapTaken = new Set(ciapExplicit.map((e) => e.code));
  const ciapFiller = fillerCodes(
    'ABDFHKLNPRSTUWXYZ',
    (i) => String(1 + i * 11).padStart(2, '0'),
    9,
    (c) => `Motivo ${c} (descrição sintética)`,
    ciapTaken,
  );
  const ciap = dims.codes('tb_dim_ciap', 'co_seq_dim_ciap', 'nu_ciap', 'no_ciap', [...ciapExplicit, ...CIAP_AB_FILLER, ...ciapFiller, ...CIAP_PUERPERIUM]);

  const procExplicit = Object.entries(PROC_NAMES).map(([code, name]) => ({ code, name }));
  const procTaken = new Set(procExplicit.map((e) => e.code));
  const procFiller: CodeEntry[] = [];
  for (const group of ['0202', '0301', '0401']) {
    for (let i = 0; i < 20; i++) {
      const code = group + String(10_000 + i * 1_237).padStart(6, '0');
      if (!procTaken.has(code)) procFiller.push({ code, name: `Procedimento ${code} (descrição sintética)`, retired: i === 19 });
    }
  }
  const procedure = dims.codes('tb_dim_procedimento', 'co_seq_dim_procedimento', 'co_proced', 'no_proced', [...procExplicit, ...procFiller]);

  const vaccine = new Map<string, number>();
  dims.add(
    'tb_dim_imunobiologico',
    { co_seq_dim_imunobiologico: SENTINEL, nu_identificador: SENTINEL_CODE, sg_imunobiologico: SENTINEL_CODE, no_imunobiologico: SENTINEL_NAME, st_registro_valido: 1 },
    SENTINEL_NAME,
  );
  for (const v of VACCINES) {
    const id = dims.nextId('tb_dim_imunobiologico');
    dims.add(
      'tb_dim_imunobiologico',
      { co_seq_dim_imunobiologico: id, nu_identificador: v.id, sg_imunobiologico: v.sg, no_imunobiologico: v.name, st_registro_valido: 1 },
      v.sg,
      v.name,
    );
    vaccine.set(v.key, id);
  }
  const retiredVaccineId = dims.nextId('tb_dim_imunobiologico');
  dims.add(
    'tb_dim_imunobiologico',
    {
      co_seq_dim_imunobiologico: retiredVaccineId,
      nu_identificador: '43',
      sg_imunobiologico: 'Tetra',
      no_imunobiologico: 'Tetravalente (DTP/Hib) — fora de uso',
      st_registro_valido: 0,
    },
    'tetravalente',
  );

  const dose = dims.codes('tb_dim_dose_imunobiologico', 'co_seq_dim_dose_imunobiologico', 'nu_identificador', 'no_dose_imunobiologico', DOSES, false);
  const local = dims.codes('tb_dim_local_atendimento', 'co_seq_dim_local_atendimento', 'nu_identificador', 'ds_local_atendimento', LOCAIS, false);
  const tipo = dims.codes('tb_dim_tipo_atendimento', 'co_seq_dim_tipo_atendimento', 'nu_identificador', 'ds_tipo_atendimento', TIPOS_ATENDIMENTO, false);
  const desfecho = dims.codes('tb_dim_desfecho_visita', 'co_seq_dim_desfecho_visita', 'nu_identificador', 'ds_desfecho_visita', DESFECHOS_VISITA, false);

  const genderIdentity = dims.codes('tb_dim_identidade_genero', 'co_seq_dim_identidade_genero', 'nu_identificador', 'ds_identidade_genero', IDENTIDADES_GENERO, false);
  // The PEC's display order (co_ordem, not extracted): the row's position.
  dims.rows.get('tb_dim_identidade_genero')!.forEach((row, i) => (row.co_ordem = i));

  dims.add('tb_dim_sexo', { co_seq_dim_sexo: SENTINEL, sg_sexo: SENTINEL_CODE, ds_sexo: SENTINEL_NAME }, SENTINEL_NAME);
  dims.add('tb_dim_sexo', { co_seq_dim_sexo: SEX.male, sg_sexo: 'M', ds_sexo: 'Masculino' }, 'masculino');
  dims.add('tb_dim_sexo', { co_seq_dim_sexo: SEX.female, sg_sexo: 'F', ds_sexo: 'Feminino' }, 'feminino');
  dims.add('tb_dim_sexo', { co_seq_dim_sexo: 4, sg_sexo: 'I', ds_sexo: 'Indeterminado' }, 'indeterminado');

  return { cbo, cid, ciap, procedure, vaccine, dose, local, tipo, desfecho, genderIdentity };
}

function timeDimension(dims: DimensionBuilder, calendar: Calendar): void {
  for (let day = calendar.first; day <= calendar.last; day++) {
    const iso = calendar.iso(day);
    dims.add(
      'tb_dim_tempo',
      {
        co_seq_dim_tempo: Number(calendar.ymd(day)),
        dt_registro: iso,
        nu_dia: Number(iso.slice(8)),
        nu_mes: Number(iso.slice(5, 7)),
        nu_ano: Number(iso.slice(0, 4)),
        ds_dia_semana: WEEKDAY_NAMES[weekdayOfDay(day)]!,
      },
      iso,
    );
  }
  const unknown = dayNumber('3000-12-31');
  dims.add(
    'tb_dim_tempo',
    { co_seq_dim_tempo: Number(UNKNOWN_DAY_KEY), dt_registro: '3000-12-31', nu_dia: 31, nu_mes: 12, nu_ano: 3000, ds_dia_semana: WEEKDAY_NAMES[weekdayOfDay(unknown)]! },
    SENTINEL_NAME,
  );
}

const titleCase = (upper: string) =>
  upper
    .split(' ')
    .map((w) =>
      (CONNECTORS as readonly string[]).includes(w)
        ? w.toLowerCase()
        : w[0] +
          w
            .slice(1)
            .toLowerCase()
            .replace(/'(.)/, (_, c: string) => `'${c.toUpperCase()}`),
    )
    .join(' ');

function personName(rng: Rng, female: boolean, surname?: string): string {
  const first = rng.pick(female ? FEMALE_NAMES : MALE_NAMES);
  const parts: string[] = [first];
  if (rng.chance(0.35)) {
    if (female && rng.chance(0.4)) parts.push(rng.pick(['DA CONCEIÇÃO', 'DAS GRAÇAS', 'DE FÁTIMA', 'APARECIDA']));
    else parts.push(rng.pick(female ? FEMALE_NAMES : MALE_NAMES));
  }
  if (rng.chance(0.3)) parts.push(rng.pick(CONNECTORS));
  parts.push(rng.pick(SURNAMES));
  parts.push(surname ?? rng.pick(SURNAMES));
  return parts.join(' ');
}

/** Distinct random digit strings of a fixed length. */
class UniqueDigits {
  private readonly seen = new Set<string>();
  constructor(private readonly rng: Rng) {}
  next(prefix: string, digits: number): string {
    for (;;) {
      const s = prefix + this.rng.digits(digits);
      if (!this.seen.has(s)) {
        this.seen.add(s);
        return s;
      }
    }
  }
}

function fillerMunicipalities(dims: DimensionBuilder, rng: Rng, taken: Set<string>, nextId: () => number): number[] {
  const ids: number[] = [];
  const heads = ['Santa Rita', 'São Bento', 'Nova Esperança', 'Bom Jesus', 'Porto Alegre', 'Lagoa Seca', 'Campo Verde', 'Serra Azul', 'Conceição', 'Vila Bela'];
  const tails = ['do Norte', 'do Sul', "D'Oeste", 'dos Índios', 'das Graças', 'do Açaí', 'da Serra', 'Paulista'];
  for (let i = 0; i < 40; i++) {
    const uf = UFS[rng.int(0, UFS.length - 1)]!;
    let ibge: string;
    do {
      const six = uf.code + rng.digits(4);
      ibge = six + ibgeCheckDigit(six);
    } while (taken.has(ibge));
    taken.add(ibge);
    const name = `${heads[i % heads.length]} ${tails[(i * 7) % tails.length]}`;
    const id = nextId();
    dims.add('tb_dim_municipio', { co_seq_dim_municipio: id, no_municipio: name, co_ibge: ibge, co_dim_uf: ufId(uf), st_registro_valido: i % 13 === 12 ? 0 : 1 }, name, ibge);
    ids.push(id);
  }
  return ids;
}

/** tb_dim_uf ids: sentinel 1, then UFS in order. */
const ufId = (uf: Uf) => UFS.indexOf(uf) + 2;

const AGE_BANDS: readonly (readonly [number, number, number])[] = [
  [0, 4, 7],
  [5, 14, 14],
  [15, 24, 15],
  [25, 39, 23],
  [40, 59, 25],
  [60, 74, 11],
  [75, 95, 5],
];
const AGE_CUMULATIVE = cumulative(AGE_BANDS.map((b) => b[2]));

export function buildInstallation(options: PopulationOptions, calendar: Calendar): Installation {
  const rng = new Rng(mixSeed(options.seed, STREAM.dimensions));
  const dims = new DimensionBuilder();
  timeDimension(dims, calendar);

  dims.add('tb_dim_uf', { co_seq_dim_uf: SENTINEL, co_uf: SENTINEL_CODE, sg_uf: SENTINEL_CODE, no_uf: SENTINEL_NAME }, SENTINEL_NAME);
  for (const uf of UFS) dims.add('tb_dim_uf', { co_seq_dim_uf: ufId(uf), co_uf: uf.code, sg_uf: uf.sg, no_uf: uf.name }, uf.sg, uf.name);

  const codes = codeDimensions(dims);

  let municipioId = SENTINEL;
  dims.add('tb_dim_municipio', { co_seq_dim_municipio: SENTINEL, no_municipio: SENTINEL_NAME, co_ibge: SENTINEL_CODE, co_dim_uf: SENTINEL, st_registro_valido: 1 }, SENTINEL_NAME);
  const municipalities: Municipality[] = options.municipalities.map((m, index) => {
    const uf = UFS.find((u) => u.sg === m.uf)!;
    const dimId = ++municipioId;
    dims.add('tb_dim_municipio', { co_seq_dim_municipio: dimId, no_municipio: m.name, co_ibge: m.ibge, co_dim_uf: ufId(uf), st_registro_valido: 1 }, m.name, m.ibge);
    return { index, ibge: m.ibge, name: m.name, uf, dimId, teams: [], citizens: [] };
  });
  const otherMunicipioIds = fillerMunicipalities(dims, rng, new Set(options.municipalities.map((m) => m.ibge)), () => ++municipioId);

  // Units, teams and professionals: installation-wide dimensions with sentinels.
  dims.add(
    'tb_dim_unidade_saude',
    { co_seq_dim_unidade_saude: SENTINEL, nu_cnes: SENTINEL_CODE, no_unidade_saude: SENTINEL_NAME, no_bairro: null, st_registro_valido: 1 },
    SENTINEL_NAME,
  );
  dims.add('tb_dim_equipe', { co_seq_dim_equipe: SENTINEL, nu_ine: SENTINEL_CODE, no_equipe: SENTINEL_NAME, st_registro_valido: 1 }, SENTINEL_NAME);
  dims.add('tb_dim_profissional', { co_seq_dim_profissional: SENTINEL, nu_cns: SENTINEL_CODE, no_profissional: SENTINEL_NAME, st_registro_valido: 1 }, SENTINEL_NAME);
  const cnes = new UniqueDigits(rng);
  const ine = new UniqueDigits(rng);
  let unitId = SENTINEL;
  let teamId = SENTINEL;
  let profId = SENTINEL;
  const professional = (cboCode: string, valid = true): Professional => {
    const id = ++profId;
    const female = rng.chance(0.6);
    const name = titleCase(personName(rng, female));
    dims.add('tb_dim_profissional', { co_seq_dim_profissional: id, nu_cns: makeDefinitiveCns(rng), no_profissional: name, st_registro_valido: valid ? 1 : 0 }, name);
    return { id, cbo: codes.cbo.get(cboCode)! };
  };
  for (const m of municipalities) {
    const teamCount = teamsFor(options.citizens);
    const units: number[] = [];
    for (let u = 0; u < unitsFor(teamCount); u++) {
      const id = ++unitId;
      const base = UNIT_NAMES[(u + m.index * 3) % UNIT_NAMES.length]!;
      const name = u < UNIT_NAMES.length ? base : `${base} ${Math.floor(u / UNIT_NAMES.length) + 1}`;
      const bairro = rng.pick(NEIGHBOURHOODS);
      dims.add('tb_dim_unidade_saude', { co_seq_dim_unidade_saude: id, nu_cnes: cnes.next('', 7), no_unidade_saude: name, no_bairro: bairro, st_registro_valido: 1 }, name, bairro);
      units.push(id);
    }
    const closed = ++unitId;
    dims.add(
      'tb_dim_unidade_saude',
      { co_seq_dim_unidade_saude: closed, nu_cnes: cnes.next('', 7), no_unidade_saude: 'UBS Antiga (desativada)', no_bairro: 'Centro', st_registro_valido: 0 },
      'ubs antiga',
    );
    for (let t = 0; t < teamCount; t++) {
      const id = ++teamId;
      const name = `ESF ${String(t + 1).padStart(2, '0')} - ${NEIGHBOURHOODS[t % NEIGHBOURHOODS.length]}`;
      dims.add('tb_dim_equipe', { co_seq_dim_equipe: id, nu_ine: ine.next('000', 7), no_equipe: name, st_registro_valido: 1 }, name);
      const formerDoctor = professional(CBOS.doctor.code, false);
      m.teams.push({
        id,
        unitId: units[t % units.length]!,
        doctor: professional(CBOS.doctor.code),
        formerDoctor,
        nurse: professional(CBOS.nurse.code),
        nursingTech: professional(CBOS.nursingTech.code),
        resident: professional(rng.chance(0.5) ? CBOS.resident.code : CBOS.nurseResident.code),
        acs: Array.from({ length: rng.int(4, 6) }, () => professional(CBOS.acs.code)),
        // Assigned after every team exists (below).
        dentist: { id: SENTINEL, cbo: SENTINEL },
      });
    }
    const retiredTeam = ++teamId;
    dims.add('tb_dim_equipe', { co_seq_dim_equipe: retiredTeam, nu_ine: ine.next('000', 7), no_equipe: 'EAP Extinta', st_registro_valido: 0 }, 'eap extinta');
  }

  // Dentists are drawn after every other professional and team: the draws before them, and so the
  // ids, INEs and names of every earlier seed, stay as they were when dental care was added.
  for (const m of municipalities) for (const t of m.teams) t.dentist = professional(CBOS.dentist.code);

  const citizenIds = { fat: 0, coCidadao: 1000 };
  for (const m of municipalities) {
    for (let i = 0; i < options.citizens; i++) m.citizens.push(makeCitizen(options.seed, m, i, calendar, citizenIds, municipalities, otherMunicipioIds));
  }
  return { dimensions: dims.rows, codes, municipalities, otherMunicipioIds };
}

function makeCitizen(
  seed: number,
  m: Municipality,
  i: number,
  calendar: Calendar,
  ids: { fat: number; coCidadao: number },
  all: readonly Municipality[],
  otherMunicipioIds: readonly number[],
): Citizen {
  const rng = new Rng(mixSeed(seed, STREAM.profile, m.index, i));
  const { historyStart: start, historyEnd: end } = calendar;
  // ~2 % of records repeat an earlier person (same name and birth date) under a new record.
  const original = i > 0 && rng.chance(0.02) ? m.citizens[rng.int(0, i - 1)]! : undefined;

  const female = original ? original.female : rng.chance(0.515);
  const band = AGE_BANDS[rng.weighted(AGE_CUMULATIVE)]!;
  const birthDay = original ? original.birthDay : end - rng.int(band[0] * 365, band[1] * 365 + 364);
  const ageYears = (end - birthDay) / 365.25;
  const adult = ageYears >= 18;
  const elderly = ageYears >= 60;

  let nameText: string;
  let motherNameText: string;
  if (original) {
    nameText = original.nameText;
    motherNameText = original.motherNameText;
  } else {
    const upper = personName(rng, female);
    const surname = upper.split(' ').at(-1)!;
    // Older records were typed in mixed case; newer ones are upper case.
    nameText = copyText(rng.chance(0.15) ? titleCase(upper) : upper);
    motherNameText = rng.chance(0.92) ? copyText(personName(rng, true, rng.chance(0.5) ? surname : undefined)) : NULL;
  }
  const socialNameText = rng.chance(0.01) ? copyText(rng.pick(female ? MALE_NAMES : FEMALE_NAMES)) : NULL;

  // A duplicate record usually lacks the CPF (it was created in a hurry, with a provisional CNS).
  let cpf: string;
  if (original) cpf = original.cpf !== NULL && rng.chance(0.3) ? original.cpf : NULL;
  else cpf = rng.chance(adult ? 0.92 : 0.6) ? makeCpf(rng) : NULL;
  const cns = cpf === NULL || rng.chance(0.95) ? (original || rng.chance(0.2) ? makeProvisionalCns(rng) : makeDefinitiveCns(rng)) : NULL;
  const phone = rng.chance(0.75) ? `${m.uf.ddd}9${rng.digits(8)}` : NULL;
  const firstName = nameText.split(' ')[0]!;
  const email =
    adult && rng.chance(0.2) ? `${searchText(firstName)}.${searchText(nameText.split(' ').at(-1)!).replace(/[^a-z]/g, '')}${rng.int(1, 99)}@${rng.pick(EMAIL_DOMAINS)}` : NULL;
  const prontuario = rng.chance(0.5) ? (rng.chance(0.1) ? `${rng.int(1, 9999)}/${rng.int(2008, 2024)}` : String(rng.int(1, 99_999))) : NULL;

  const careTeam = m.teams[rng.int(0, m.teams.length - 1)]!;
  const linked = rng.chance(0.95);
  const acsIndex = rng.int(0, careTeam.acs.length - 1);

  const hypertension = adult && rng.chance(ageYears < 40 ? 0.08 : elderly ? 0.55 : 0.3);
  const diabetes = adult && rng.chance(ageYears < 40 ? 0.02 : elderly ? 0.2 : 0.1);
  const smoker = adult && rng.chance(0.12);
  const heartDisease = adult && rng.chance(elderly ? 0.12 : 0.02);
  const respiratoryDisease = rng.chance(0.05);
  const bedridden = ageYears >= 75 && rng.chance(0.08);

  const deathDay = rng.chance(elderly ? 0.02 : 0.002) ? Math.max(birthDay + 1, rng.int(start, end)) : Infinity;
  const ageAtStart = (start - birthDay) / 365.25;
  const dum = female && ageAtStart >= 15 && ageAtStart <= 44 && rng.chance(0.1) ? rng.int(start - 270, end - 30) : -1;
  const cytologyDay = female && ageYears >= 25 && ageYears <= 64 && rng.chance(0.35) ? rng.int(start, end) : -1;

  let registrationDay: number;
  if (birthDay >= start) registrationDay = birthDay + rng.int(3, 40);
  else if (rng.chance(0.88)) registrationDay = start + rng.int(0, 120);
  else registrationDay = rng.int(start, end);
  registrationDay = Math.min(registrationDay, end, deathDay);

  const birthplace = rng.chance(0.7) ? m.dimId : rng.chance(0.3) ? rng.pick(all).dimId : rng.pick(otherMunicipioIds);
  const hasLocation = rng.chance(0.92);
  // Household position near a per-municipality centre in the municipality's state.
  const centre = new Rng(mixSeed(seed, STREAM.profile, Number(m.ibge)));
  const lat = m.uf.lat + (centre.next() - 0.5) * 3 + (rng.next() - 0.5) * 0.08;
  const lon = m.uf.lon + (centre.next() - 0.5) * 3 + (rng.next() - 0.5) * 0.08;

  const heightCm = female ? 150 + rng.next() * 25 : 160 + rng.next() * 30;
  const bmi = 19 + rng.next() * 16;

  return {
    id: ++ids.fat,
    muni: m.index,
    index: i,
    coCidadao: (ids.coCidadao += rng.int(1, 3)),
    nameText,
    socialNameText,
    motherNameText,
    sex: female ? SEX.female : SEX.male,
    female,
    birthDay,
    birthIso: isoOfDay(birthDay),
    birthYmd: isoOfDay(birthDay).replaceAll('-', ''),
    deathDay,
    cpf,
    cns,
    phone,
    email,
    prontuario,
    careTeam,
    linked,
    acs: careTeam.acs[acsIndex]!,
    microArea: linked && rng.chance(0.96) ? String(acsIndex + 1).padStart(2, '0') : NULL,
    hypertension,
    diabetes,
    smoker,
    heartDisease,
    respiratoryDisease,
    bedridden,
    dum,
    cytologyDay,
    registrationDay,
    originUuid: rng.uuid(),
    birthplace,
    latitude: hasLocation ? lat.toFixed(6) : NULL,
    longitude: hasLocation ? lon.toFixed(6) : NULL,
    heightCm,
    bmi,
  };
}

/**
 * The PEC's transactional team-type domain (tb_tipo_equipe) as a live PEC 5.5.28 holds it: a sequential id,
 * the acronym, and nu_ms, the Ministry of Health code the indicators test. Row 49 is the trap the rule avoids:
 * its acronym is also "EAP", but its code is 49 (a team of therapeutic measures), not 76.
 */
export const TEAM_TYPES = [
  { co_seq_tipo_equipe: 49, sg_tipo_equipe: 'EAP', no_tipo_equipe: 'Equipe de Avaliação e Acompanhamento das Medidas Terapêuticas', nu_ms: '49' },
  { co_seq_tipo_equipe: 55, sg_tipo_equipe: 'EMULTI', no_tipo_equipe: 'Equipe Multiprofissional na APS', nu_ms: '72' },
  { co_seq_tipo_equipe: 56, sg_tipo_equipe: 'ESF', no_tipo_equipe: 'Equipe de Saúde da Família', nu_ms: '70' },
  { co_seq_tipo_equipe: 57, sg_tipo_equipe: 'ESB', no_tipo_equipe: 'Equipe de Saúde Bucal', nu_ms: '71' },
  { co_seq_tipo_equipe: 58, sg_tipo_equipe: 'EAP', no_tipo_equipe: 'Equipe de Atenção Primária', nu_ms: '76' },
] as const;
export const TEAM_TYPE_ID = { esf: 56, eap: 58, therapeuticMeasures: 49, emulti: 55 } as const;

/** A team whose type the synthetic PEC changes during the history (recorded in ta_equipe), for the tests. */
export interface TeamTypeChange {
  ine: string;
  /** Ministry codes (tb_tipo_equipe.nu_ms) before and after. */
  from: string;
  to: string;
  /** Day of the change, YYYY-MM-DD (at 10:00). */
  day: string;
}

const nuMs = (id: number): string => TEAM_TYPES.find((t) => t.co_seq_tipo_equipe === id)!.nu_ms;

/**
 * The transactional team rows (tb_equipe, and its audit history ta_equipe) for the teams of tb_dim_equipe, by their
 * INE, with no random draw (earlier seeds keep every value): every fourth active team is an eAP (76), the others eSF
 * (70); the retired team is of type 49 (acronym "EAP", not an eAP); `esf` names teams that must stay eSF (the
 * planted cohort's, whose figures the tests compute); the sentinel has none. The first eSF team has a second row
 * with the same INE and type, as a live PEC keeps several rows per INE.
 *
 * ta_equipe: every team row is inserted ('I') on the history's first day and updated ('U') the next day without a
 * change of type (most audit rows only touch other columns). Two planted changes, returned as `changes`: the second
 * eSF team outside `esf` becomes an eMulti (72) 65 % into the history, and the first eAP team became an eSF 30 % into
 * it (tb_equipe holds their new, current type).
 */
export function transactionalTeamRows(
  teams: readonly DimRow[],
  esf: ReadonlySet<number>,
  historyStart: number,
  historyEnd: number,
): { tables: Map<string, DimRow[]>; changes: TeamTypeChange[] } {
  const rows: DimRow[] = [];
  const movable: boolean[] = [];
  let active = 0;
  for (const t of teams) {
    const id = Number(t.co_seq_dim_equipe);
    if (id === SENTINEL) continue;
    const type = t.st_registro_valido === 0 ? TEAM_TYPE_ID.therapeuticMeasures : esf.has(id) ? TEAM_TYPE_ID.esf : active++ % 4 === 3 ? TEAM_TYPE_ID.eap : TEAM_TYPE_ID.esf;
    rows.push({ co_seq_equipe: rows.length + 1, nu_ine: t.nu_ine!, tp_equipe: type, co_unidade_saude: null, st_ativo: 1 });
    movable.push(!esf.has(id));
  }
  const firstEsf = rows.find((r) => r.tp_equipe === TEAM_TYPE_ID.esf);
  const span = historyEnd - historyStart;
  type Planted = { row: DimRow; to: number; day: number };
  const candidates: { row: DimRow | undefined; to: number; day: number }[] = [
    { row: rows.filter((r, k) => r.tp_equipe === TEAM_TYPE_ID.esf && movable[k])[1], to: TEAM_TYPE_ID.emulti, day: historyStart + Math.floor(span * 0.65) },
    { row: rows.find((r, k) => r.tp_equipe === TEAM_TYPE_ID.eap && movable[k]), to: TEAM_TYPE_ID.esf, day: historyStart + Math.floor(span * 0.3) },
  ];
  const planted = candidates.filter((c): c is Planted => c.row !== undefined);
  if (firstEsf) rows.push({ ...firstEsf, co_seq_equipe: rows.length + 1 });
  const at = (day: number, time: string) => `${isoOfDay(day)} ${time}`;
  const audit: DimRow[] = [];
  const record = (r: DimRow, when: string, kind: string, type: DimValue) =>
    audit.push({
      co_seq_taequipe: audit.length + 1,
      dt_auditoria: when,
      co_tipo_auditoria: kind,
      co_seq_equipe: r.co_seq_equipe!,
      nu_ine: r.nu_ine!,
      tp_equipe: type,
      st_ativo: 1,
      co_unidade_saude: null,
    });
  for (const r of rows) record(r, at(historyStart, '08:00:00'), 'I', r.tp_equipe!);
  for (const r of rows) record(r, at(historyStart + 1, '09:30:00'), 'U', r.tp_equipe!);
  const changes: TeamTypeChange[] = [];
  for (const c of planted) {
    changes.push({ ine: String(c.row.nu_ine), from: nuMs(Number(c.row.tp_equipe)), to: nuMs(c.to), day: isoOfDay(c.day) });
    record(c.row, at(c.day, '10:00:00'), 'U', c.to);
    c.row.tp_equipe = c.to;
  }
  return {
    tables: new Map<string, DimRow[]>([
      ['tb_tipo_equipe', TEAM_TYPES.map((t) => ({ ...t }))],
      ['tb_equipe', rows],
      ['ta_equipe', audit],
    ]),
    changes,
  };
}
