import * as calendar from './calendar';
import * as copy from './copy';
import * as prng from './prng';
import * as population from './population';
import type { Calendar } from './calendar';
import type { Citizen, CodeIds, Installation, Professional, Team } from './population';
import { CHILD_SCHEDULE, CIAP, CID, PROC, UNUSUAL_LOT_NUMBERS, VACCINES } from './vocab';

/**
 * Fact rows as COPY text. Facts that reference each other (a consultation and its diagnoses,
 * exams and procedures; a vaccination and its doses) are produced by replaying the same
 * deterministic simulation once per table, writing only that table's rows: one COPY runs at a
 * time on a connection, and replaying is cheaper than buffering a whole table.
 *
 * Rule that keeps replays identical: every random draw happens whatever table is being written;
 * only string formatting depends on it.
 */

/** Columns of each fact table in the order the row templates below write them (registry names). */
export const FACT_COLUMNS = {
  tb_fat_cidadao_pec: [
    'co_seq_fat_cidadao_pec',
    'co_cidadao',
    'nu_cns',
    'nu_cpf_cidadao',
    'no_cidadao',
    'no_social_cidadao',
    'co_dim_tempo_nascimento',
    'co_dim_sexo',
    'nu_telefone_celular',
    'st_faleceu',
    'co_dim_unidade_saude_vinc',
    'co_dim_equipe_vinc',
    'co_dim_municipio',
  ],
  tb_fat_cad_individual: [
    'co_seq_fat_cad_individual',
    'nu_uuid_ficha',
    'nu_uuid_ficha_origem',
    'co_fat_cidadao_pec',
    'nu_cns',
    'nu_cpf_cidadao',
    'dt_nascimento',
    'no_nome',
    'no_nome_mae',
    'nu_celular',
    'no_email',
    'co_dim_unidade_saude',
    'co_dim_equipe',
    'co_dim_profissional',
    'co_dim_cbo',
    'co_dim_sexo',
    'st_hipertensao_arterial',
    'st_diabete',
    'st_gestante',
    'st_fumante',
    'nu_micro_area',
    'co_dim_municipio',
    'co_dim_tempo',
    'st_doenca_cardiaca',
    'st_doenca_respiratoria',
    'st_acamado',
    'st_ficha_inativa',
    'co_dim_municipio_cidadao',
    'co_dim_identidade_genero',
  ],
  tb_fat_atendimento_individual: [
    'co_seq_fat_atd_ind',
    'co_fat_cidadao_pec',
    'nu_cns',
    'nu_cpf_cidadao',
    'nu_prontuario',
    'dt_nascimento',
    'dt_inicial_atendimento',
    'dt_final_atendimento',
    'co_dim_profissional_1',
    'co_dim_cbo_1',
    'co_dim_unidade_saude_1',
    'co_dim_equipe_1',
    'co_dim_profissional_2',
    'co_dim_cbo_2',
    'co_dim_unidade_saude_2',
    'co_dim_equipe_2',
    'co_dim_local_atendimento',
    'co_dim_tipo_atendimento',
    'co_dim_sexo',
    'nu_peso',
    'nu_altura',
    'nu_pressao_sistolica',
    'nu_pressao_diastolica',
    'co_dim_tempo_dum',
    'nu_idade_gestacional_semanas',
    'ds_filtro_cids',
    'ds_filtro_ciaps',
    'ds_filtro_proced_avaliados',
    'ds_filtro_proced_solicitados',
    'co_dim_municipio',
    'co_dim_tempo',
    'nu_uuid_ficha',
  ],
  tb_fat_atendimento_odonto: [
    'co_seq_fat_atd_odnt',
    'co_fat_cidadao_pec',
    'nu_cns',
    'nu_cpf_cidadao',
    'dt_nascimento',
    'co_dim_profissional_1',
    'co_dim_cbo_1',
    'co_dim_unidade_saude_1',
    'co_dim_equipe_1',
    'co_dim_profissional_2',
    'co_dim_cbo_2',
    'co_dim_unidade_saude_2',
    'co_dim_equipe_2',
    'co_dim_local_atendimento',
    'co_dim_tipo_atendimento',
    'co_dim_sexo',
    'st_gestante',
    'co_dim_municipio',
    'co_dim_tempo',
  ],
  tb_fat_atd_ind_problemas: [
    'co_seq_fat_atd_ind_problemas',
    'co_fat_atd_ind',
    'co_fat_cidadao_pec',
    'co_dim_cid',
    'co_dim_ciap',
    'co_dim_data_fim_problema',
    'co_dim_profissional_1',
    'co_dim_cbo_1',
    'co_dim_unidade_saude_1',
    'co_dim_equipe_1',
    'co_dim_profissional_2',
    'co_dim_cbo_2',
    'co_dim_unidade_saude_2',
    'co_dim_equipe_2',
    'co_dim_municipio',
    'co_dim_tempo',
  ],
  tb_fat_atd_ind_procedimentos: [
    'co_seq_fat_atd_ind_procedimentos',
    'co_fat_atd_ind',
    'co_fat_cidadao_pec',
    'co_dim_procedimento_solicitado',
    'co_dim_procedimento_avaliado',
    'co_dim_profissional_1',
    'co_dim_cbo_1',
    'co_dim_unidade_saude_1',
    'co_dim_equipe_1',
    'co_dim_municipio',
    'co_dim_tempo',
  ],
  tb_fat_proced_atend_proced: [
    'co_seq_fat_proced_atend_proced',
    'co_fat_cidadao_pec',
    'nu_cns',
    'co_dim_procedimento',
    'co_dim_profissional',
    'co_dim_cbo',
    'co_dim_unidade_saude',
    'co_dim_equipe',
    'co_dim_municipio',
    'co_dim_tempo',
  ],
  tb_fat_visita_domiciliar: [
    'co_seq_fat_visita_domiciliar',
    'co_fat_cidadao_pec',
    'nu_cns',
    'co_dim_profissional',
    'co_dim_cbo',
    'co_dim_unidade_saude',
    'co_dim_equipe',
    'co_dim_desfecho_visita',
    'nu_micro_area',
    'st_acomp_pessoa_hipertensao',
    'st_acomp_pessoa_diabetes',
    'st_acomp_gestante',
    'st_acomp_recem_nascido',
    'st_acomp_crianca',
    'nu_latitude',
    'nu_longitude',
    'co_dim_municipio',
    'co_dim_tempo',
  ],
  tb_fat_vacinacao: [
    'co_seq_fat_vacinacao',
    'co_fat_cidadao_pec',
    'nu_cns',
    'nu_cpf_cidadao',
    'dt_nascimento',
    'co_dim_sexo',
    'co_dim_profissional',
    'co_dim_cbo',
    'co_dim_unidade_saude',
    'co_dim_equipe',
    'st_gestante',
    'co_dim_municipio',
    'co_dim_tempo',
    'nu_uuid_ficha',
  ],
  tb_fat_vacinacao_vacina: [
    'co_seq_fat_vacinacao_vacina',
    'co_fat_vacinacao',
    'co_fat_cidadao_pec',
    'co_dim_imunobiologico',
    'co_dim_dose_imunobiologico',
    'co_dim_tempo_vacina_aplicada',
    'no_lote',
    'co_dim_municipio',
    'co_dim_tempo',
  ],
} as const satisfies Record<string, readonly string[]>;

export type FactTable = keyof typeof FACT_COLUMNS;

// Local copies of the imports used per row: transpiled CommonJS reads imported bindings through
// getters, which costs ~10 % in these loops.
const { dayNumber, timeOfDay, weekdayOfDay } = calendar;
const { CHUNK_CHARS, copyText, NULL } = copy;
const { mixSeed, Rng } = prng;
const { SENTINEL, STREAM, UNKNOWN_DAY_KEY } = population;

const enum Pass {
  None,
  Consultation,
  Problem,
  Exam,
  Procedure,
  Vaccination,
  Dose,
}

const enum Kind {
  General,
  Prenatal,
  Cytology,
}

interface CodeGroup {
  codes: string[];
  ids: number[];
}

function codeGroups(codes: CodeIds) {
  const group = (map: Map<string, number>, list: readonly string[]): CodeGroup => ({
    codes: [...list],
    ids: list.map((c) => {
      const id = map.get(c);
      if (id === undefined) throw new Error(`code ${c} missing from its dimension`);
      return id;
    }),
  });
  // Repetition weights the picks towards the common codes.
  return {
    ciapHypertension: group(codes.ciap, ['K86', 'K86', 'K86', 'K86', 'K87']),
    cidHypertension: group(codes.cid, ['I10', 'I10', 'I10', 'I10', ...CID.hypertension]),
    ciapDiabetes: group(codes.ciap, ['T90', 'T90', 'T90', 'T90', 'T89']),
    cidDiabetes: group(codes.cid, ['E11', 'E119', 'E119', 'E14', ...CID.diabetes]),
    ciapPregnancy: group(codes.ciap, ['W78']),
    ciapPregnancyOther: group(
      codes.ciap,
      CIAP.prenatal.filter((c) => c !== 'W78'),
    ),
    cidPregnancy: group(codes.cid, CID.prenatal),
    cidPregnancyComplication: group(codes.cid, CID.pregnancyComplication),
    ciapCytology: group(codes.ciap, CIAP.cytology),
    cidCytology: group(codes.cid, CID.cytology),
    ciapAcute: group(codes.ciap, CIAP.acute),
    cidAcute: group(codes.cid, CID.acute),
    bloodPressure: group(codes.procedure, ['ABPG033', 'ABPG033', PROC.bloodPressure[0]]),
    hba1c: group(codes.procedure, [PROC.hba1c[0], PROC.hba1c[0], PROC.hba1c[1]]),
    cytology: group(codes.procedure, PROC.cytology),
    glucose: group(codes.procedure, [PROC.glucose]),
    hypertensionExams: group(codes.procedure, [PROC.creatinine, PROC.cholesterol, PROC.urine]),
    prenatalExams: group(codes.procedure, [PROC.bloodCount, PROC.glucose, PROC.urine, PROC.syphilisTest, PROC.hivTest]),
    routineExams: group(codes.procedure, [PROC.bloodCount, PROC.glucose, PROC.cholesterol, PROC.creatinine, PROC.urine]),
    doctorVisit: codes.procedure.get(PROC.doctorVisit)!,
    otherVisit: codes.procedure.get(PROC.otherVisit)!,
    anthropometry: codes.procedure.get(PROC.anthropometry)!,
    capillaryGlucose: codes.procedure.get(PROC.capillaryGlucose)!,
    firstListening: codes.procedure.get(PROC.firstListening)!,
    minorProcedures: group(codes.procedure, [PROC.dressing, PROC.stitches, PROC.capillaryGlucose]),
    localUbs: codes.local.get('1')!,
    localHome: codes.local.get('4')!,
    localOther: group(codes.local, ['2', '3', '5', '6', '7', '8']),
    tipo: group(codes.tipo, ['1', '1', '1', '2', '2', '2', '2', '5', '5', '5', '4', '6']),
    visitDone: codes.desfecho.get('1')!,
    visitRefused: codes.desfecho.get('2')!,
    visitAbsent: codes.desfecho.get('3')!,
    vaccineByKey: new Map(VACCINES.map((v) => [v.key, codes.vaccine.get(v.key)!])),
    dose: (code: string) => codes.dose.get(code)!,
    schedule: CHILD_SCHEDULE.map(([age, key, dose]) => ({ age, vaccine: codes.vaccine.get(key)!, dose: codes.dose.get(dose)! })),
  };
}
type CodeGroups = ReturnType<typeof codeGroups>;

const MAX_PER_CONSULTATION = 16;
const LOTS_PER_VACCINE = 12;
const bit = (b: boolean) => (b ? '1' : '0');
const NO_SECOND_PROFESSIONAL = `${SENTINEL}\t${SENTINEL}\t${SENTINEL}\t${SENTINEL}`;
const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
/** `units` (a non-negative integer count of 1/scale) as a decimal; integer formatting is far cheaper than a double's. */
const decimal = (units: number, scale: 10 | 100) => (scale === 100 ? `${Math.floor(units / 100)}.${TWO_DIGITS[units % 100]}` : `${Math.floor(units / 10)}.${units % 10}`);

export class FactGenerator {
  private out = '';
  private pass = Pass.None;
  /** Rows written per municipality for the table being written. */
  private counts: number[] = [];
  readonly rowCounts = new Map<FactTable, number[]>();
  private readonly rng = new Rng(0);
  private readonly aux = new Rng(0);
  private readonly ids = { registration: 0, consultation: 0, problem: 0, exam: 0, procedure: 0, visit: 0, vaccination: 0, dose: 0, dental: 0 };
  private readonly munIds: number[];
  private readonly doctorChangeDay: number;
  private readonly g: CodeGroups;
  private readonly lots: string[][];
  /** "professional, CBO, unit, team" per professional id: each one works in a single team. */
  private readonly attribution: string[] = [];
  /** The citizen's columns of a consultation row, per citizen id (built on first use). */
  private readonly consultationHeads: string[] = [];

  // Scratch space for one consultation (reused: no allocation per row).
  private problems = 0;
  private exams = 0;
  private procedureCount = 0;
  private readonly problemCid = new Array<number>(MAX_PER_CONSULTATION);
  private readonly problemCiap = new Array<number>(MAX_PER_CONSULTATION);
  private readonly problemCode = new Array<string>(MAX_PER_CONSULTATION);
  private readonly examRequested = new Array<boolean>(MAX_PER_CONSULTATION);
  private readonly examId = new Array<number>(MAX_PER_CONSULTATION);
  private readonly examCode = new Array<string>(MAX_PER_CONSULTATION);
  private readonly procedureIds = new Array<number>(MAX_PER_CONSULTATION);
  private readonly procedureProfessional = new Array<Professional>(MAX_PER_CONSULTATION);
  private doseCount = 0;
  private readonly doseDay: number[] = [];
  private readonly doseVaccine: number[] = [];
  private readonly doseKind: number[] = [];
  private readonly doseOrder: number[] = [];
  private readonly doseLotOf: number[] = [];

  constructor(
    private readonly installation: Installation,
    private readonly calendar: Calendar,
    private readonly seed: number,
  ) {
    this.munIds = installation.municipalities.map((m) => m.dimId);
    this.doctorChangeDay = calendar.historyStart + Math.floor((calendar.historyEnd - calendar.historyStart) / 3);
    this.g = codeGroups(installation.codes);
    this.lots = this.makeLots(installation.codes);
    for (const m of installation.municipalities) {
      for (const t of m.teams) {
        for (const p of [t.doctor, t.formerDoctor, t.nurse, t.nursingTech, t.resident, ...t.acs, t.dentist]) this.attribution[p.id] = `${p.id}\t${p.cbo}\t${t.unitId}\t${t.id}`;
      }
    }
  }

  /** Lot numbers per vaccine; a few carry the characters that break naive text handling. */
  private makeLots(codes: CodeIds): string[][] {
    const rng = new Rng(mixSeed(this.seed, STREAM.lots));
    const lots: string[][] = [];
    for (const [, id] of codes.vaccine) {
      const list: string[] = [];
      for (let k = 0; k < LOTS_PER_VACCINE; k++) {
        const plain = `${String.fromCharCode(65 + rng.int(0, 25))}${String.fromCharCode(65 + rng.int(0, 25))}${rng.digits(4)}${rng.chance(0.3) ? `/${rng.digits(2)}` : ''}`;
        list.push(copyText(k === LOTS_PER_VACCINE - 1 ? UNUSUAL_LOT_NUMBERS[id % UNUSUAL_LOT_NUMBERS.length]! : plain));
      }
      lots[id] = list;
    }
    return lots;
  }

  private begin(table: FactTable, pass: Pass): void {
    this.pass = pass;
    this.counts = this.installation.municipalities.map(() => 0);
    this.rowCounts.set(table, this.counts);
    this.out = '';
    for (const key of Object.keys(this.ids) as (keyof typeof this.ids)[]) this.ids[key] = 0;
  }

  /** Weekdays are busier: a weekend draw is redrawn most of the time. */
  private pickDay(lo: number, hi: number): number {
    const rng = this.rng;
    let d = rng.int(lo, hi);
    const w = weekdayOfDay(d);
    if ((w === 0 || w === 6) && rng.chance(0.85)) d = rng.int(lo, hi);
    return d;
  }

  private *eachCitizenMonth(stream: number, visit: (c: Citizen, first: number, last: number, month: number) => void): Generator<string> {
    const slices = this.calendar.monthSlices();
    for (let month = 0; month < slices.length; month++) {
      const { first, last } = slices[month]!;
      for (const m of this.installation.municipalities) {
        for (const c of m.citizens) {
          if (c.birthDay > last) continue;
          this.rng.reseed(mixSeed(this.seed, stream, m.index, c.index, month));
          visit(c, first, last, month);
          if (this.out.length >= CHUNK_CHARS) {
            yield this.out;
            this.out = '';
          }
        }
      }
    }
    if (this.out.length > 0) {
      yield this.out;
      this.out = '';
    }
  }

  // ---------------------------------------------------------------------------------------------
  // tb_fat_cidadao_pec

  *citizens(): Generator<string> {
    this.begin('tb_fat_cidadao_pec', Pass.None);
    for (const m of this.installation.municipalities) {
      const mun = m.dimId;
      for (const c of m.citizens) {
        const unit = c.linked ? c.careTeam.unitId : SENTINEL;
        const team = c.linked ? c.careTeam.id : SENTINEL;
        this.out += `${c.id}\t${c.coCidadao}\t${c.cns}\t${c.cpf}\t${c.nameText}\t${c.socialNameText}\t${c.birthYmd}\t${c.sex}\t${c.phone}\t${bit(c.deathDay !== Infinity)}\t${unit}\t${team}\t${mun}\n`;
        this.counts[m.index]!++;
        if (this.out.length >= CHUNK_CHARS) {
          yield this.out;
          this.out = '';
        }
      }
    }
    if (this.out.length > 0) yield this.out;
    this.out = '';
  }

  // ---------------------------------------------------------------------------------------------
  // tb_fat_cad_individual: a first version, then updates; a deceased citizen's record is inactivated.

  registrations(): Generator<string> {
    this.begin('tb_fat_cad_individual', Pass.None);
    return this.eachCitizenMonth(STREAM.registration, (c, first, last) => {
      const rng = this.rng;
      if (c.registrationDay > last) return;
      const frac = (last - first + 1) / 30.4;
      if (c.registrationDay >= first) this.registration(c, c.registrationDay, c.originUuid, c.phone, false);
      else if (rng.chance(0.25 * frac)) {
        const hi = Math.min(last, c.deathDay - 1);
        if (hi >= first) {
          const day = this.pickDay(first, hi);
          const phone = rng.chance(0.1) ? `${c.phone === NULL ? '11' : c.phone.slice(0, 2)}9${rng.digits(8)}` : c.phone;
          this.registration(c, day, rng.uuid(), phone, false);
        }
      }
      if (c.deathDay !== Infinity) {
        const inactivated = c.deathDay + 1 + (c.index % 20);
        if (inactivated >= first && inactivated <= last && inactivated <= this.calendar.historyEnd && inactivated > c.registrationDay)
          this.registration(c, inactivated, this.rng.uuid(), c.phone, true);
      }
    });
  }

  private registration(c: Citizen, day: number, uuid: string, phone: string, inactive: boolean): void {
    const rng = this.rng;
    const team = c.careTeam;
    const prof = c.linked && rng.chance(0.8) ? c.acs : team.nurse;
    const teamId = c.linked ? team.id : SENTINEL;
    // Self-reported conditions lag the clinical ones a little.
    const hyp = c.hypertension && c.coCidadao % 10 !== 0;
    const dm = c.diabetes && c.coCidadao % 10 !== 1;
    const pregnant = this.pregnantWeeks(c, day) >= 0;
    // No gender identity declared (the sentinel): the indicator cohort plants the ones C7 reads.
    this.out +=
      `${++this.ids.registration}\t${uuid}\t${c.originUuid}\t${c.id}\t${c.cns}\t${c.cpf}\t${c.birthIso}\t${c.nameText}\t${c.motherNameText}\t${phone}\t${c.email}\t` +
      `${team.unitId}\t${teamId}\t${prof.id}\t${prof.cbo}\t${c.sex}\t${bit(hyp)}\t${bit(dm)}\t${bit(pregnant)}\t${bit(c.smoker)}\t${c.microArea}\t` +
      `${this.munIds[c.muni]}\t${this.calendar.ymd(day)}\t${bit(c.heartDisease)}\t${bit(c.respiratoryDisease)}\t${bit(c.bedridden)}\t${bit(inactive)}\t${c.birthplace}\t${SENTINEL}\n`;
    this.counts[c.muni]!++;
  }

  /** Gestational age in weeks on `day`, or -1 when not (knowingly) pregnant. */
  private pregnantWeeks(c: Citizen, day: number): number {
    if (c.dum < 0 || day < c.dum + 35 || day > c.dum + 283) return -1;
    return Math.floor((day - c.dum) / 7);
  }

  // ---------------------------------------------------------------------------------------------
  // Consultations and what hangs off them

  care(table: 'tb_fat_atendimento_individual' | 'tb_fat_atd_ind_problemas' | 'tb_fat_atd_ind_procedimentos' | 'tb_fat_proced_atend_proced'): Generator<string> {
    const pass = {
      tb_fat_atendimento_individual: Pass.Consultation,
      tb_fat_atd_ind_problemas: Pass.Problem,
      tb_fat_atd_ind_procedimentos: Pass.Exam,
      tb_fat_proced_atend_proced: Pass.Procedure,
    }[table];
    this.begin(table, pass);
    return this.eachCitizenMonth(STREAM.care, (c, first, last) => this.careMonth(c, first, last));
  }

  /** Exactly `rows` consultations (benchmarks), spread over all citizens and the whole history. */
  *onlyConsultations(rows: number): Generator<string> {
    this.begin('tb_fat_atendimento_individual', Pass.Consultation);
    const rng = this.rng.reseed(mixSeed(this.seed, STREAM.onlyConsultations));
    const muns = this.installation.municipalities;
    const { historyStart, historyEnd } = this.calendar;
    for (let i = 0; i < rows; i++) {
      const citizens = muns[i % muns.length]!.citizens;
      const c = citizens[rng.int(0, citizens.length - 1)]!;
      const lo = Math.max(historyStart, c.birthDay);
      const hi = Math.min(historyEnd, c.deathDay);
      const day = this.pickDay(lo, Math.max(lo, hi));
      this.consultation(c, day, this.pregnantWeeks(c, day) >= 0 && rng.chance(0.5) ? Kind.Prenatal : Kind.General);
      if (this.out.length >= CHUNK_CHARS) {
        yield this.out;
        this.out = '';
      }
    }
    if (this.out.length > 0) yield this.out;
    this.out = '';
  }

  private careMonth(c: Citizen, first: number, last: number): void {
    const rng = this.rng;
    const lo = Math.max(first, c.birthDay);
    const hi = Math.min(last, c.deathDay);
    if (lo > hi) return;
    const frac = (hi - lo + 1) / 30.4;
    const age = (lo - c.birthDay) / 365.25;
    let rate = age < 2 ? 0.55 : age < 12 ? 0.23 : age < 60 ? 0.25 : 0.4;
    if (c.hypertension) rate += 0.2;
    if (c.diabetes) rate += 0.22;
    const n = rng.poisson(rate * frac);
    for (let k = 0; k < n; k++) this.consultation(c, this.pickDay(lo, hi), Kind.General);

    // Prenatal care: about one consultation a month once the pregnancy is known.
    if (c.dum >= 0) {
      const pLo = Math.max(lo, c.dum + 35);
      const pHi = Math.min(hi, c.dum + 283);
      if (pLo <= pHi && rng.chance(Math.min(1, 0.9 * ((pHi - pLo + 1) / 30.4)))) this.consultation(c, this.pickDay(pLo, pHi), Kind.Prenatal);
    }
    if (c.cytologyDay >= lo && c.cytologyDay <= hi) this.consultation(c, c.cytologyDay, Kind.Cytology);

    // Procedure sheets filled without a consultation (nursing technicians).
    const team = c.careTeam;
    if (c.hypertension && rng.chance(0.5 * frac)) this.standaloneProcedure(c, team, this.pickDay(lo, hi), this.g.bloodPressure.ids[rng.int(0, 2)]!);
    if (c.diabetes && rng.chance(0.4 * frac)) this.standaloneProcedure(c, team, this.pickDay(lo, hi), this.g.capillaryGlucose);
    if (rng.chance(0.08 * frac)) this.standaloneProcedure(c, team, this.pickDay(lo, hi), rng.pick(this.g.minorProcedures.ids));
  }

  private standaloneProcedure(c: Citizen, team: Team, day: number, procedureId: number): void {
    const id = ++this.ids.procedure;
    if (this.pass !== Pass.Procedure) return;
    this.out += `${id}\t${c.id}\t${c.cns}\t${procedureId}\t${this.attribution[team.nursingTech.id]}\t${this.munIds[c.muni]}\t${this.calendar.ymd(day)}\n`;
    this.counts[c.muni]!++;
  }

  /** Consultations are the bulk of the rows: their constant part per citizen is built once (fewer string pieces per row). */
  private consultationHead(c: Citizen): string {
    return (this.consultationHeads[c.id] ??= `${c.id}\t${c.cns}\t${c.cpf}\t${c.prontuario}\t${c.birthIso}`);
  }

  private addProcedure(procedureId: number, professional: Professional): void {
    const n = this.procedureCount++;
    this.procedureIds[n] = procedureId;
    this.procedureProfessional[n] = professional;
  }

  private addProblem(group: CodeGroup, isCiap: boolean): void {
    const k = this.rng.int(0, group.ids.length - 1);
    const n = this.problems++;
    this.problemCiap[n] = isCiap ? group.ids[k]! : SENTINEL;
    this.problemCid[n] = isCiap ? SENTINEL : group.ids[k]!;
    this.problemCode[n] = group.codes[k]!;
  }

  /** Adds an exam unless the same one is already listed (a drawn duplicate is dropped). */
  private addExam(group: CodeGroup, requested: boolean): void {
    const k = this.rng.int(0, group.ids.length - 1);
    for (let i = 0; i < this.exams; i++) if (this.examRequested[i] === requested && this.examId[i] === group.ids[k]) return;
    const n = this.exams++;
    this.examRequested[n] = requested;
    this.examId[n] = group.ids[k]!;
    this.examCode[n] = group.codes[k]!;
  }

  private consultation(c: Citizen, day: number, kind: Kind): void {
    const rng = this.rng;
    const g = this.g;
    const team = c.careTeam;
    const age = (day - c.birthDay) / 365.25;
    const adult = age >= 18;
    const weeks = this.pregnantWeeks(c, day);

    let prof: Professional;
    if (kind === Kind.Cytology) prof = team.nurse;
    else if (rng.chance(kind === Kind.Prenatal ? 0.5 : 0.6)) prof = day < this.doctorChangeDay ? team.formerDoctor : team.doctor;
    else prof = team.nurse;
    const second: Professional | null = rng.chance(0.01) ? (prof === team.nurse ? team.resident : rng.chance(0.5) ? team.nurse : team.resident) : null;

    // Diagnoses: a CIAP or a CID each (the other column is the sentinel).
    this.problems = 0;
    let hypertensionSeen = false;
    let diabetesSeen = false;
    if (kind === Kind.Prenatal) {
      if (rng.chance(0.65)) this.addProblem(g.ciapPregnancy, true);
      else this.addProblem(g.cidPregnancy, false);
      if (rng.chance(0.1)) {
        if (rng.chance(0.5)) this.addProblem(g.ciapPregnancyOther, true);
        else this.addProblem(g.cidPregnancyComplication, false);
      }
    } else if (kind === Kind.Cytology) {
      if (rng.chance(0.7)) this.addProblem(g.ciapCytology, true);
      else this.addProblem(g.cidCytology, false);
    } else {
      if (c.hypertension && rng.chance(0.65)) {
        hypertensionSeen = true;
        if (rng.chance(0.6)) this.addProblem(g.ciapHypertension, true);
        else this.addProblem(g.cidHypertension, false);
      }
      if (c.diabetes && rng.chance(0.65)) {
        diabetesSeen = true;
        if (rng.chance(0.6)) this.addProblem(g.ciapDiabetes, true);
        else this.addProblem(g.cidDiabetes, false);
      }
      if (this.problems === 0 || rng.chance(0.3)) {
        if (rng.chance(0.7)) this.addProblem(g.ciapAcute, true);
        else this.addProblem(g.cidAcute, false);
      }
    }

    // Exams requested (solicitado) or whose results were evaluated (avaliado).
    this.exams = 0;
    if (diabetesSeen || (c.diabetes && rng.chance(0.3))) {
      if (rng.chance(0.75)) this.addExam(g.hba1c, true);
      if (rng.chance(0.5)) this.addExam(g.glucose, true);
      if (rng.chance(0.35)) this.addExam(g.hba1c, false);
    }
    if (hypertensionSeen) {
      if (rng.chance(0.35)) this.addExam(g.hypertensionExams, true);
      if (rng.chance(0.35)) this.addExam(g.hypertensionExams, true);
    }
    if (kind === Kind.Prenatal) {
      const n = weeks < 14 ? 5 : rng.chance(0.3) ? 2 : 0;
      for (let k = 0; k < n; k++) this.addExam(g.prenatalExams, true);
    } else if (adult && rng.chance(0.45)) {
      const n = rng.int(1, 4);
      for (let k = 0; k < n; k++) this.addExam(g.routineExams, true);
    }
    if (rng.chance(0.5)) {
      const n = rng.int(1, 3);
      for (let k = 0; k < n; k++) this.addExam(g.routineExams, false);
    }

    // Measurements.
    const measured = rng.chance(age < 2 || kind === Kind.Prenatal ? 0.95 : 0.6);
    let weight = 0;
    let height = 0;
    if (measured) {
      const adultHeight = c.heightCm;
      if (age < 1) height = 50 + 25 * age;
      else if (age < 2) height = 75 + 11 * (age - 1);
      else if (age < 18) height = 86 + ((adultHeight - 86) * (age - 2)) / 16;
      else height = adultHeight;
      const bmi = age < 18 ? 15.5 + ((c.bmi - 15.5) * age) / 18 : c.bmi;
      weight = ((bmi * height * height) / 10_000) * (0.985 + rng.next() * 0.03) + (weeks >= 0 ? weeks * 0.3 : 0);
      height += rng.next() * 0.8 - 0.4;
    }
    const bpMeasured = adult && rng.chance(hypertensionSeen || kind === Kind.Prenatal ? 0.88 : 0.35);
    let systolic = 0;
    let diastolic = 0;
    if (bpMeasured) {
      systolic = c.hypertension ? 120 + rng.int(0, 25) + rng.int(0, 25) : 100 + rng.int(0, 18) + rng.int(0, 18);
      diastolic = Math.round(systolic * 0.62) + rng.int(-8, 8);
      if (rng.chance(0.15)) systolic += 0.5;
    }

    const local = c.bedridden && rng.chance(0.8) ? g.localHome : rng.chance(0.9) ? g.localUbs : rng.chance(0.5) ? g.localHome : rng.pick(g.localOther.ids);
    const tipoIndex = rng.int(0, g.tipo.ids.length - 1);
    const tipo = g.tipo.ids[tipoIndex]!;
    const sameDay = g.tipo.codes[tipoIndex] === '4' || g.tipo.codes[tipoIndex] === '5';

    // Procedures performed around the consultation; triage is the nursing technician's.
    this.procedureCount = 0;
    if (rng.chance(0.85)) this.addProcedure(prof === team.nurse ? g.otherVisit : g.doctorVisit, prof);
    if (sameDay && rng.chance(0.8)) this.addProcedure(g.firstListening, team.nursingTech);
    if (bpMeasured && rng.chance(0.9)) this.addProcedure(g.bloodPressure.ids[rng.int(0, 2)]!, rng.chance(0.5) ? team.nursingTech : prof);
    if (measured && rng.chance(0.8)) this.addProcedure(g.anthropometry, team.nursingTech);
    if (diabetesSeen && rng.chance(0.4)) this.addProcedure(g.capillaryGlucose, team.nursingTech);
    if (kind === Kind.Cytology) this.addProcedure(g.cytology.ids[rng.int(0, 1)]!, prof);
    if (rng.chance(0.05)) this.addProcedure(rng.pick(g.minorProcedures.ids), team.nursingTech);
    const npr = this.procedureCount;
    const startSecond = 7 * 3600 + rng.int(0, 10.5 * 3600);
    const endSecond = startSecond + 60 * rng.int(8, 45) + rng.int(0, 59);

    const np = this.problems;
    const ne = this.exams;
    const id = ++this.ids.consultation;
    const problemBase = this.ids.problem;
    this.ids.problem += np;
    const examBase = this.ids.exam;
    this.ids.exam += ne;
    const procedureBase = this.ids.procedure;
    this.ids.procedure += npr;

    const pass = this.pass;
    if (pass === Pass.None) return;
    const mun = this.munIds[c.muni]!;
    const ymd = this.calendar.ymd(day);
    const p1 = this.attribution[prof.id]!;
    const p2 = second ? this.attribution[second.id]! : NO_SECOND_PROFESSIONAL;

    if (pass === Pass.Consultation) {
      const iso = this.calendar.iso(day);
      let cids = '';
      let ciaps = '';
      for (let k = 0; k < np; k++) {
        if (this.problemCid[k] !== SENTINEL) cids += `|${this.problemCode[k]}`;
        else ciaps += `|${this.problemCode[k]}`;
      }
      let requested = '';
      let evaluated = '';
      for (let k = 0; k < ne; k++) {
        if (this.examRequested[k]) requested += `|${this.examCode[k]}`;
        else evaluated += `|${this.examCode[k]}`;
      }
      const uuid = this.aux.reseed(mixSeed(this.seed, STREAM.care, id)).uuid();
      this.out +=
        `${id}\t${this.consultationHead(c)}\t${iso} ${timeOfDay(startSecond)}\t${iso} ${timeOfDay(endSecond)}\t` +
        `${p1}\t${p2}\t${local}\t${tipo}\t${c.sex}\t` +
        `${measured ? decimal(Math.round(weight * 100), 100) : NULL}\t${measured ? decimal(Math.round(height * 10), 10) : NULL}\t` +
        `${bpMeasured ? systolic : NULL}\t${bpMeasured ? diastolic : NULL}\t` +
        `${weeks >= 0 ? this.calendar.ymd(c.dum) : UNKNOWN_DAY_KEY}\t${weeks >= 0 ? weeks : NULL}\t` +
        `${cids ? `${cids}|` : NULL}\t${ciaps ? `${ciaps}|` : NULL}\t${evaluated ? `${evaluated}|` : NULL}\t${requested ? `${requested}|` : NULL}\t` +
        `${mun}\t${ymd}\t${uuid}\n`;
      this.counts[c.muni]!++;
    } else if (pass === Pass.Problem) {
      for (let k = 0; k < np; k++) {
        // The simulation never resolves a problem: its end is the PEC's "unknown" day.
        this.out += `${problemBase + k + 1}\t${id}\t${c.id}\t${this.problemCid[k]}\t${this.problemCiap[k]}\t${UNKNOWN_DAY_KEY}\t${p1}\t${p2}\t${mun}\t${ymd}\n`;
      }
      this.counts[c.muni]! += np;
    } else if (pass === Pass.Exam) {
      for (let k = 0; k < ne; k++) {
        const requested = this.examRequested[k];
        this.out += `${examBase + k + 1}\t${id}\t${c.id}\t${requested ? this.examId[k] : SENTINEL}\t${requested ? SENTINEL : this.examId[k]}\t${p1}\t${mun}\t${ymd}\n`;
      }
      this.counts[c.muni]! += ne;
    } else if (pass === Pass.Procedure) {
      for (let k = 0; k < npr; k++) {
        this.out += `${procedureBase + k + 1}\t${c.id}\t${c.cns}\t${this.procedureIds[k]}\t${this.attribution[this.procedureProfessional[k]!.id]}\t${mun}\t${ymd}\n`;
      }
      this.counts[c.muni]! += npr;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // tb_fat_visita_domiciliar

  visits(): Generator<string> {
    this.begin('tb_fat_visita_domiciliar', Pass.None);
    const g = this.g;
    return this.eachCitizenMonth(STREAM.visits, (c, first, last) => {
      if (!c.linked) return;
      const rng = this.rng;
      const lo = Math.max(first, c.birthDay);
      const hi = Math.min(last, c.deathDay);
      if (lo > hi) return;
      const frac = (hi - lo + 1) / 30.4;
      const pregnant = this.pregnantWeeks(c, lo) >= 0 || this.pregnantWeeks(c, hi) >= 0;
      const n = rng.poisson((0.33 + (pregnant ? 0.3 : 0) + (c.bedridden ? 0.5 : 0)) * frac);
      const acs = c.acs;
      const team = c.careTeam;
      for (let k = 0; k < n; k++) {
        const day = this.pickDay(lo, hi);
        const x = rng.next();
        const outcome = x < 0.9 ? g.visitDone : x < 0.93 ? g.visitRefused : g.visitAbsent;
        const done = outcome === g.visitDone;
        // Motives by age: newborn up to day 28 of life, child up to 10 years.
        const newborn = day - c.birthDay <= 28;
        const child = !newborn && day - c.birthDay < 3653;
        this.out +=
          `${++this.ids.visit}\t${c.id}\t${c.cns}\t${acs.id}\t${acs.cbo}\t${team.unitId}\t${team.id}\t${outcome}\t${c.microArea}\t` +
          `${bit(done && c.hypertension)}\t${bit(done && c.diabetes)}\t${bit(done && this.pregnantWeeks(c, day) >= 0)}\t${bit(done && newborn)}\t${bit(done && child)}\t` +
          `${c.latitude}\t${c.longitude}\t` +
          `${this.munIds[c.muni]}\t${this.calendar.ymd(day)}\n`;
        this.counts[c.muni]!++;
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // tb_fat_atendimento_odonto

  /**
   * Dental consultations by the care team's dentist: rare in general, more frequent in pregnancy
   * (the prenatal dental visit Previne 3 counts). Its own random stream: other tables are unchanged.
   */
  dental(): Generator<string> {
    this.begin('tb_fat_atendimento_odonto', Pass.None);
    const g = this.g;
    return this.eachCitizenMonth(STREAM.dental, (c, first, last) => {
      if (!c.linked) return;
      const rng = this.rng;
      const lo = Math.max(first, c.birthDay);
      const hi = Math.min(last, c.deathDay);
      if (lo > hi) return;
      const frac = (hi - lo + 1) / 30.4;
      const pregnant = this.pregnantWeeks(c, lo) >= 0 || this.pregnantWeeks(c, hi) >= 0;
      const n = rng.poisson((0.04 + (pregnant ? 0.12 : 0)) * frac);
      const dentist = c.careTeam.dentist;
      for (let k = 0; k < n; k++) {
        const day = this.pickDay(lo, hi);
        const tipo = g.tipo.ids[rng.int(0, g.tipo.ids.length - 1)]!;
        this.out +=
          `${++this.ids.dental}	${c.id}	${c.cns}	${c.cpf}	${c.birthIso}	${this.attribution[dentist.id]}	${SENTINEL}	${SENTINEL}	${SENTINEL}	${SENTINEL}	` +
          `${g.localUbs}	${tipo}	${c.sex}	${bit(this.pregnantWeeks(c, day) >= 0)}	${this.munIds[c.muni]}	${this.calendar.ymd(day)}
`;
        this.counts[c.muni]!++;
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // tb_fat_vacinacao (one row per visit to the vaccination room) and tb_fat_vacinacao_vacina (per dose)

  vaccination(table: 'tb_fat_vacinacao' | 'tb_fat_vacinacao_vacina'): Generator<string> {
    this.begin(table, table === 'tb_fat_vacinacao' ? Pass.Vaccination : Pass.Dose);
    return this.eachCitizenMonth(STREAM.vaccination, (c, first, last) => this.vaccinationMonth(c, first, last));
  }

  private campaignFor = { sliceFirst: NaN, campaign: -1 };

  /** The first day of the influenza campaign when the month starting at `sliceFirst` is in it, else -1. */
  private influenzaCampaign(sliceFirst: number): number {
    const cache = this.campaignFor;
    if (cache.sliceFirst !== sliceFirst) {
      const date = this.calendar.iso(sliceFirst);
      const month = Number(date.slice(5, 7));
      cache.sliceFirst = sliceFirst;
      cache.campaign = month === 4 || month === 5 ? dayNumber(`${date.slice(0, 4)}-04-10`) : -1;
    }
    return cache.campaign;
  }

  private pushDose(day: number, vaccine: number, dose: number): void {
    const k = this.doseCount++;
    this.doseDay[k] = day;
    this.doseVaccine[k] = vaccine;
    this.doseKind[k] = dose;
  }

  private vaccinationMonth(c: Citizen, first: number, last: number): void {
    const rng = this.rng;
    const aux = this.aux;
    const g = this.g;
    const lo = Math.max(first, c.birthDay);
    const hi = Math.min(last, c.deathDay);
    if (lo > hi) return;
    this.doseCount = 0;

    // Children's schedule: the doses due at one age are given together, on a date fixed per
    // citizen and age (whichever month is replayed); a few single doses are missed.
    if (c.birthDay + 1460 + 46 >= lo) {
      for (let k = 0; k < g.schedule.length; k++) {
        const s = g.schedule[k]!;
        const due = c.birthDay + s.age;
        if (due > hi || due + 45 < lo) continue;
        aux.reseed(mixSeed(this.seed, STREAM.vaccineDose, c.muni, c.index, s.age));
        if (!aux.chance(0.9)) continue;
        const day = due + (aux.chance(0.6) ? aux.int(0, 7) : aux.int(8, 45));
        if (day < lo || day > hi) continue;
        aux.reseed(mixSeed(this.seed, STREAM.vaccineDose, c.muni, c.index, -1 - k));
        if (aux.chance(0.95)) this.pushDose(day, s.vaccine, s.dose);
      }
    }
    // Influenza campaign (April 10 to May 31) for the elderly, young children and pregnant women.
    const campaign = this.influenzaCampaign(first);
    if (campaign !== -1) {
      const year = new Date(campaign * 86_400_000).getUTCFullYear();
      const age = (campaign - c.birthDay) / 365.25;
      if (age >= 60 || (age >= 0.5 && age <= 6) || this.pregnantWeeks(c, campaign) >= 0) {
        aux.reseed(mixSeed(this.seed, STREAM.influenza, c.muni, c.index, year));
        if (aux.chance(0.6)) {
          const day = campaign + aux.int(0, 51);
          if (day >= lo && day <= hi) this.pushDose(day, g.vaccineByKey.get('flu')!, g.dose('38'));
        }
      }
    }
    // dTpa from the 20th week of pregnancy.
    if (c.dum >= 0) {
      aux.reseed(mixSeed(this.seed, STREAM.vaccineDose, c.muni, c.index, 1000));
      if (aux.chance(0.8)) {
        const day = c.dum + 140 + aux.int(0, 70);
        if (day >= lo && day <= hi) this.pushDose(day, g.vaccineByKey.get('dtpa')!, g.dose('38'));
      }
    }
    const ageNow = (lo - c.birthDay) / 365.25;
    if (ageNow >= 9 && rng.chance((0.012 * (hi - lo + 1)) / 30.4)) {
      const day = this.pickDay(lo, hi);
      if (ageNow <= 14 && rng.chance(0.5)) this.pushDose(day, g.vaccineByKey.get('hpv')!, g.dose(rng.chance(0.5) ? '1' : '2'));
      else {
        const x = rng.int(0, 2);
        if (x === 0) this.pushDose(day, g.vaccineByKey.get('covid')!, g.dose('8'));
        else if (x === 1) this.pushDose(day, g.vaccineByKey.get('dt')!, g.dose('8'));
        else this.pushDose(day, g.vaccineByKey.get('hepb')!, g.dose(rng.pick(['1', '2', '3'])));
      }
    }
    const count = this.doseCount;
    if (count === 0) return;

    // One record per day, doses in schedule order.
    const days = this.doseDay;
    const vaccines = this.doseVaccine;
    const doses = this.doseKind;
    const order = this.doseOrder;
    for (let k = 0; k < count; k++) {
      let j = k;
      while (j > 0 && days[order[j - 1]!]! > days[k]!) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = k;
    }
    const lotOf = this.doseLotOf;
    for (let k = 0; k < count; k++) lotOf[k] = rng.int(0, LOTS_PER_VACCINE - 1);
    const team = c.careTeam;
    const mun = this.munIds[c.muni]!;
    let k = 0;
    while (k < count) {
      const day = days[order[k]!]!;
      const prof = rng.chance(0.7) ? team.nursingTech : team.nurse;
      const id = ++this.ids.vaccination;
      const ymd = this.calendar.ymd(day);
      if (this.pass === Pass.Vaccination) {
        const uuid = this.aux.reseed(mixSeed(this.seed, STREAM.vaccination, id)).uuid();
        this.out +=
          `${id}\t${c.id}\t${c.cns}\t${c.cpf}\t${c.birthIso}\t${c.sex}\t${prof.id}\t${prof.cbo}\t${team.unitId}\t${team.id}\t` +
          `${bit(this.pregnantWeeks(c, day) >= 0)}\t${mun}\t${ymd}\t${uuid}\n`;
        this.counts[c.muni]!++;
      }
      for (; k < count && days[order[k]!] === day; k++) {
        const i = order[k]!;
        // A few doses are recorded late: applied before the record's date.
        const late = rng.chance(0.03) ? rng.int(1, 30) : 0;
        const applied = Math.max(c.birthDay, day - late);
        const doseId = ++this.ids.dose;
        if (this.pass === Pass.Dose) {
          this.out += `${doseId}\t${id}\t${c.id}\t${vaccines[i]}\t${doses[i]}\t${this.calendar.ymd(applied)}\t${this.lots[vaccines[i]!]![lotOf[k]!]}\t${mun}\t${ymd}\n`;
          this.counts[c.muni]!++;
        }
      }
    }
  }
}
