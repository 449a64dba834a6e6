import { dayNumber, isoOfDay } from './calendar';
import { cohortCns, cohortCpf } from './documents';
import { FACT_COLUMNS, type FactTable } from './facts';
import { SENTINEL, SEX, UNKNOWN_DAY_KEY, type DimRow, type Installation } from './population';
import { CBOS, PROC } from './vocab';

/**
 * A planted cohort for the indicator marts: per municipality, a team of its own ("Equipe
 * Indicadores", INE `99<ibge>0`) whose people have exactly the events each indicator needs, with
 * known proportions, on one day of the current quadrimestre. The rest of the synthetic PEC is a
 * random simulation whose indicator values are only plausible; this team's values are exact, so a
 * test can check the whole chain (source → extract → load → marts) against numbers written here.
 *
 * Off by default (SeedOptions.indicatorCohort): existing seeds stay byte-identical.
 */
export const INDICATOR_COHORT = {
  /**
   * Men aged 50, hypertension (K86) recorded by the team's doctor; `followed` of them with blood
   * pressure measured that day; the first `duplicated` also have a second PEC record with the same
   * CPF (one person). Besides: `selfDeclared` men whose registration says hypertension but who were
   * never diagnosed (Previne 6 counts them, C5 does not), and `deceased` diagnosed men marked dead
   * (counted nowhere).
   */
  hypertension: { people: 100, followed: 60, duplicated: 10, selfDeclared: 10, deceased: 5 },
  /** Men aged 60, diabetes (T90) recorded by the doctor; `followed` of them with an HbA1c requested in that consultation. */
  diabetes: { people: 50, followed: 30 },
  /** Women aged 30; `followed` of them with a cervical cytology collection that day. */
  cytology: { people: 100, followed: 45 },
  /**
   * Children turning one on that day; `vaccinated` with the third doses of pentavalent and VIP at six
   * months, `pentavalentOnly` more with the pentavalent's third dose alone, the rest with neither.
   */
  vaccination: { children: 40, vaccinated: 38, pentavalentOnly: 1 },
  /**
   * Women aged 20 whose last menstrual period is 250 days before that day (the pregnancy ends 44
   * days after it): `complete` with 6 prenatal consultations from day 60, `late` with 6 from day 100
   * (after week 12), the rest with 3 from day 60; the first `tested` with syphilis and HIV exams
   * requested at their first consultation; the first `dental` with a dentist's consultation (CBO
   * 223293) on day 120 of the pregnancy.
   */
  prenatal: { pregnancies: 20, complete: 12, late: 4, tested: 15, dental: 9 },
  /**
   * C3, on the same pregnant women: the first `dtpa` with a dTpa dose on day 150 of the pregnancy; the first `visited`
   * with agent visits on days 110, 140 and 170; the last `delivered` with a nurse's consultation on day 245 recording
   * W90 (delivery) and, in the problem list, the pregnancy (W78) resolved on day 240 (the outcome date: the pregnancy
   * ends there and the puerperium begins); the first `puerperalVisit` of those with an agent visit on day 246.
   */
  pregnancyCare: { dtpa: 10, visited: 8, delivered: 5, puerperalVisit: 3 },
  /**
   * C7: `girls` aged 12, `vaccinated` of them with an HPV dose at 11; `women` aged 55, each with a
   * doctor's consultation (CIAP A98) that day, the first `mammography` of them with a screening
   * mammography requested in it, and the first `sexualHealth` with a second consultation coded ABP003
   * (sexual and reproductive health). The cytology women (30) and the pregnant women (20) are in
   * C7's populations too (docs/indicators/cytology.md). By gender identity (C7 note, items 4.1 and 4.2):
   * `transMen` aged 55, recorded with the male sex and a registration declaring "Homem transgênero", each
   * with a doctor's consultation (A98) that day, the first `transMenMammography` with a mammography
   * requested in it (C7 counts them in A, C and D); `transWomen` aged 55, recorded with the female sex and
   * a registration declaring "Mulher transgênero", each with a mammography requested (C7 leaves them out).
   */
  womensCancer: { girls: 20, vaccinated: 14, women: 30, mammography: 18, sexualHealth: 12, transMen: 5, transMenMammography: 3, transWomen: 3 },
  /**
   * C2: `babies` born 60 days before that day; the first `followed` with a nurse's child-care
   * consultation (ABP004) with weight and height on day 10 of life and agent visits on days 10 (motive
   * newborn) and 50 (motive child). The vaccination children (aged one) are in C2's population too.
   */
  childDevelopment: { babies: 10, followed: 6 },
  /** Days before the seed's end date on which every cohort event happens. */
  daysBeforeEnd: 10,
} as const;

/** The LEDI gender-identity codes C7 reads (tb_dim_identidade_genero.nu_identificador). */
const GENDER_IDENTITY = { transMan: '149', transWoman: '150' } as const;

export const cohortTeamIne = (ibge: string): string => `99${ibge}0`;
export const COHORT_TEAM_NAME = 'Equipe Indicadores (coorte sintética)';

/** Ids far above anything the simulation allocates, so keys never collide. */
const ID_BASE = 9_000_000_000;
const idOf = (municipality: number, kind: number, n: number) => ID_BASE + municipality * 10_000_000 + kind * 100_000 + n;

type Rows = Map<string, DimRow[]>;

const ymd = (day: number) => Number(isoOfDay(day).replaceAll('-', ''));

/** A full row of a fact table: given values, and for the rest the PEC's defaults (sentinel dimensions, 0 flags, NULL). */
function factRow(table: FactTable, municipioDimId: number, day: number, values: DimRow): DimRow {
  const row: DimRow = {};
  for (const c of FACT_COLUMNS[table]) {
    if (c in values) row[c] = values[c]!;
    else if (c === 'co_dim_municipio') row[c] = municipioDimId;
    else if (c === 'co_dim_tempo') row[c] = ymd(day);
    else if (c.startsWith('co_dim_tempo')) row[c] = Number(UNKNOWN_DAY_KEY);
    else if (c.startsWith('co_dim_')) row[c] = SENTINEL;
    else if (c.startsWith('st_')) row[c] = 0;
    else row[c] = null;
  }
  return row;
}

/**
 * The cohort's rows, per table: a dimension row for each cohort team (tb_dim_equipe) and the fact
 * rows. `endDay` is the seed's last day (day number).
 */
export function indicatorCohortRows(installation: Installation, endDay: number): Rows {
  const rows: Rows = new Map();
  const push = (table: string, row: DimRow) => rows.set(table, [...(rows.get(table) ?? []), row]);
  const codes = installation.codes;
  const code = (map: Map<string, number>, c: string) => {
    const id = map.get(c);
    if (id === undefined) throw new Error(`indicator cohort: code ${c} missing from its dimension`);
    return id;
  };
  const doctorCbo = code(codes.cbo, CBOS.doctor.code);
  const nurseCbo = code(codes.cbo, CBOS.nurse.code);
  const dentistCbo = code(codes.cbo, CBOS.dentist.code);
  const k86 = code(codes.ciap, 'K86');
  const t90 = code(codes.ciap, 'T90');
  const bloodPressure = code(codes.procedure, PROC.bloodPressure[0]);
  const hba1c = code(codes.procedure, PROC.hba1c[0]);
  const cytology = code(codes.procedure, PROC.cytology[0]);
  const penta = code(codes.vaccine, 'penta');
  const vip = code(codes.vaccine, 'vip');
  const thirdDose = code(codes.dose, '3');
  const w78 = code(codes.ciap, 'W78');
  const syphilisExam = code(codes.procedure, PROC.syphilisTest);
  const mammography = code(codes.procedure, PROC.mammography);
  const hpv = code(codes.vaccine, 'hpv');
  const a98 = code(codes.ciap, 'A98');
  const abp003 = code(codes.ciap, 'ABP003');
  const firstDose = code(codes.dose, '1');
  const abp004 = code(codes.ciap, 'ABP004');
  const acsCbo = code(codes.cbo, CBOS.acs.code);
  const hivExam = code(codes.procedure, PROC.hivTest);
  const dtpa = code(codes.vaccine, 'dtpa');
  const w90 = code(codes.ciap, 'W90');
  const day = endDay - INDICATOR_COHORT.daysBeforeEnd;
  const at = (hour: number) => `${isoOfDay(day)} ${String(hour).padStart(2, '0')}:00:00`;

  const teams = installation.dimensions.get('tb_dim_equipe') ?? [];
  const template = teams.find((t) => t.co_seq_dim_equipe !== SENTINEL);
  if (!template) throw new Error('indicator cohort: the installation has no team to copy');
  let nextTeamId = Math.max(...teams.map((t) => Number(t.co_seq_dim_equipe)));

  for (const m of installation.municipalities) {
    const teamId = ++nextTeamId;
    push('tb_dim_equipe', {
      ...template,
      co_seq_dim_equipe: teamId,
      nu_ine: cohortTeamIne(m.ibge),
      no_equipe: COHORT_TEAM_NAME,
      st_registro_valido: 1,
      ...('ds_filtro' in template ? { ds_filtro: COHORT_TEAM_NAME.toLowerCase() } : {}),
    });
    let person = 0;
    let consultation = 0;
    let procedure = 0;
    let exam = 0;

    const citizen = (ageYears: number, female: boolean, o: { deceased?: boolean; sameCpfAs?: string; bornOn?: number } = {}): { id: number; cpf: string; cns: string } => {
      const n = ++person;
      const id = idOf(m.index, 1, n);
      const cpf = o.sameCpfAs ?? cohortCpf(m.index, n);
      const cns = o.sameCpfAs ? null : cohortCns(m.index, n);
      // Born on the same calendar day `ageYears` years before the event: the age on the period's last day is ageYears.
      const monthDay = isoOfDay(day).slice(4) === '-02-29' ? '-02-28' : isoOfDay(day).slice(4);
      const born = o.bornOn ?? dayNumber(`${Number(isoOfDay(day).slice(0, 4)) - ageYears}${monthDay}`);
      push(
        'tb_fat_cidadao_pec',
        factRow('tb_fat_cidadao_pec', m.dimId, day, {
          co_seq_fat_cidadao_pec: id,
          co_cidadao: id,
          nu_cns: cns,
          nu_cpf_cidadao: cpf,
          no_cidadao: `COORTE ${m.ibge} ${n}`,
          co_dim_tempo_nascimento: ymd(born),
          co_dim_sexo: female ? SEX.female : SEX.male,
          st_faleceu: o.deceased ? 1 : 0,
          // A duplicate record names no team: the person's team comes from the record that does.
          co_dim_equipe_vinc: o.sameCpfAs ? SENTINEL : teamId,
        }),
      );
      return { id, cpf, cns: cns ?? '' };
    };
    const consult = (p: { id: number; cpf: string; cns: string }, ciap: number, ciapCode: string, systolic: number | null): number => {
      const id = idOf(m.index, 2, ++consultation);
      push(
        'tb_fat_atendimento_individual',
        factRow('tb_fat_atendimento_individual', m.dimId, day, {
          co_seq_fat_atd_ind: id,
          co_fat_cidadao_pec: p.id,
          nu_cns: p.cns,
          nu_cpf_cidadao: p.cpf,
          dt_inicial_atendimento: at(9),
          dt_final_atendimento: at(10),
          co_dim_cbo_1: doctorCbo,
          co_dim_equipe_1: teamId,
          nu_pressao_sistolica: systolic,
          ds_filtro_ciaps: `|${ciapCode}|`,
          nu_uuid_ficha: `cohort-${m.ibge}-${id}`,
        }),
      );
      push(
        'tb_fat_atd_ind_problemas',
        factRow('tb_fat_atd_ind_problemas', m.dimId, day, {
          co_seq_fat_atd_ind_problemas: idOf(m.index, 3, consultation),
          co_fat_atd_ind: id,
          co_fat_cidadao_pec: p.id,
          co_dim_ciap: ciap,
          co_dim_cbo_1: doctorCbo,
          co_dim_equipe_1: teamId,
        }),
      );
      return id;
    };
    const perform = (p: { id: number; cns: string }, proc: number) =>
      push(
        'tb_fat_proced_atend_proced',
        factRow('tb_fat_proced_atend_proced', m.dimId, day, {
          co_seq_fat_proced_atend_proced: idOf(m.index, 4, ++procedure),
          co_fat_cidadao_pec: p.id,
          nu_cns: p.cns,
          co_dim_procedimento: proc,
          co_dim_cbo: nurseCbo,
          co_dim_equipe: teamId,
        }),
      );

    const h = INDICATOR_COHORT.hypertension;
    for (let i = 0; i < h.people; i++) {
      const p = citizen(50, false);
      consult(p, k86, 'K86', null);
      if (i < h.followed) perform(p, bloodPressure);
      if (i < h.duplicated) citizen(50, false, { sameCpfAs: p.cpf });
    }
    for (let i = 0; i < h.selfDeclared; i++) {
      const p = citizen(50, false);
      push(
        'tb_fat_cad_individual',
        factRow('tb_fat_cad_individual', m.dimId, day, {
          co_seq_fat_cad_individual: idOf(m.index, 6, i + 1),
          nu_uuid_ficha: `cohort-${m.ibge}-cad-${i + 1}`,
          nu_uuid_ficha_origem: `cohort-${m.ibge}-cad-${i + 1}`,
          co_fat_cidadao_pec: p.id,
          nu_cns: p.cns,
          nu_cpf_cidadao: p.cpf,
          co_dim_equipe: teamId,
          co_dim_sexo: SEX.male,
          st_hipertensao_arterial: 1,
        }),
      );
    }
    for (let i = 0; i < h.deceased; i++) {
      const p = citizen(50, false, { deceased: true });
      consult(p, k86, 'K86', null);
      perform(p, bloodPressure);
    }
    const d = INDICATOR_COHORT.diabetes;
    for (let i = 0; i < d.people; i++) {
      const p = citizen(60, false);
      const consultationId = consult(p, t90, 'T90', null);
      if (i < d.followed)
        push(
          'tb_fat_atd_ind_procedimentos',
          factRow('tb_fat_atd_ind_procedimentos', m.dimId, day, {
            co_seq_fat_atd_ind_procedimentos: idOf(m.index, 5, ++exam),
            co_fat_atd_ind: consultationId,
            co_fat_cidadao_pec: p.id,
            co_dim_procedimento_solicitado: hba1c,
            co_dim_cbo_1: doctorCbo,
            co_dim_equipe_1: teamId,
          }),
        );
    }
    const c = INDICATOR_COHORT.cytology;
    for (let i = 0; i < c.people; i++) {
      const p = citizen(30, true);
      if (i < c.followed) perform(p, cytology);
    }
    const pn = INDICATOR_COHORT.prenatal;
    const pregnant: { id: number; cpf: string; cns: string }[] = [];
    for (let i = 0; i < pn.pregnancies; i++) {
      const p = citizen(20, true);
      pregnant.push(p);
      const lmp = day - 250;
      if (i < pn.dental)
        push(
          'tb_fat_atendimento_odonto',
          factRow('tb_fat_atendimento_odonto', m.dimId, lmp + 120, {
            co_seq_fat_atd_odnt: idOf(m.index, 9, i + 1),
            co_fat_cidadao_pec: p.id,
            nu_cns: p.cns,
            nu_cpf_cidadao: p.cpf,
            co_dim_cbo_1: dentistCbo,
            co_dim_equipe_1: teamId,
            co_dim_sexo: SEX.female,
            st_gestante: 1,
          }),
        );
      const days = i < pn.complete ? [60, 90, 120, 150, 180, 210] : i < pn.complete + pn.late ? [100, 120, 140, 160, 180, 200] : [60, 90, 120];
      days.forEach((d, k) => {
        const id = idOf(m.index, 2, ++consultation);
        push(
          'tb_fat_atendimento_individual',
          factRow('tb_fat_atendimento_individual', m.dimId, lmp + d, {
            co_seq_fat_atd_ind: id,
            co_fat_cidadao_pec: p.id,
            nu_cns: p.cns,
            nu_cpf_cidadao: p.cpf,
            dt_inicial_atendimento: `${isoOfDay(lmp + d)} 09:00:00`,
            dt_final_atendimento: `${isoOfDay(lmp + d)} 10:00:00`,
            co_dim_cbo_1: nurseCbo,
            co_dim_equipe_1: teamId,
            co_dim_tempo_dum: ymd(lmp),
            ds_filtro_ciaps: '|W78|',
            nu_uuid_ficha: `cohort-${m.ibge}-${id}`,
          }),
        );
        push(
          'tb_fat_atd_ind_problemas',
          factRow('tb_fat_atd_ind_problemas', m.dimId, lmp + d, {
            co_seq_fat_atd_ind_problemas: idOf(m.index, 3, consultation),
            co_fat_atd_ind: id,
            co_fat_cidadao_pec: p.id,
            co_dim_ciap: w78,
            co_dim_cbo_1: nurseCbo,
            co_dim_equipe_1: teamId,
          }),
        );
        if (k === 0 && i < pn.tested)
          for (const requested of [syphilisExam, hivExam])
            push(
              'tb_fat_atd_ind_procedimentos',
              factRow('tb_fat_atd_ind_procedimentos', m.dimId, lmp + d, {
                co_seq_fat_atd_ind_procedimentos: idOf(m.index, 5, ++exam),
                co_fat_atd_ind: id,
                co_fat_cidadao_pec: p.id,
                co_dim_procedimento_solicitado: requested,
                co_dim_cbo_1: nurseCbo,
                co_dim_equipe_1: teamId,
              }),
            );
      });
    }
    const pc = INDICATOR_COHORT.pregnancyCare;
    const agentVisit = (p: { id: number; cns: string }, n: number, on: number) =>
      push(
        'tb_fat_visita_domiciliar',
        factRow('tb_fat_visita_domiciliar', m.dimId, on, {
          co_seq_fat_visita_domiciliar: idOf(m.index, 10, 1000 + n),
          co_fat_cidadao_pec: p.id,
          nu_cns: p.cns,
          co_dim_cbo: acsCbo,
          co_dim_equipe: teamId,
          st_acomp_gestante: 1,
        }),
      );
    let visits = 0;
    pregnant.forEach((p, i) => {
      const lmp = day - 250;
      if (i < pc.dtpa) {
        const header = idOf(m.index, 7, 2000 + i);
        push(
          'tb_fat_vacinacao',
          factRow('tb_fat_vacinacao', m.dimId, lmp + 150, {
            co_seq_fat_vacinacao: header,
            co_fat_cidadao_pec: p.id,
            nu_cns: p.cns,
            nu_cpf_cidadao: p.cpf,
            co_dim_cbo: nurseCbo,
            co_dim_equipe: teamId,
            nu_uuid_ficha: `cohort-${m.ibge}-dtpa-${i + 1}`,
          }),
        );
        push(
          'tb_fat_vacinacao_vacina',
          factRow('tb_fat_vacinacao_vacina', m.dimId, lmp + 150, {
            co_seq_fat_vacinacao_vacina: idOf(m.index, 8, 2000 + i),
            co_fat_vacinacao: header,
            co_fat_cidadao_pec: p.id,
            co_dim_imunobiologico: dtpa,
            co_dim_dose_imunobiologico: firstDose,
            co_dim_tempo_vacina_aplicada: ymd(lmp + 150),
            no_lote: 'COORTE',
          }),
        );
      }
      if (i < pc.visited) for (const d of [110, 140, 170]) agentVisit(p, ++visits, lmp + d);
      const k = i - (pn.pregnancies - pc.delivered);
      if (k < 0) return;
      const id = idOf(m.index, 2, ++consultation);
      push(
        'tb_fat_atendimento_individual',
        factRow('tb_fat_atendimento_individual', m.dimId, lmp + 245, {
          co_seq_fat_atd_ind: id,
          co_fat_cidadao_pec: p.id,
          nu_cns: p.cns,
          nu_cpf_cidadao: p.cpf,
          dt_inicial_atendimento: `${isoOfDay(lmp + 245)} 09:00:00`,
          dt_final_atendimento: `${isoOfDay(lmp + 245)} 10:00:00`,
          co_dim_cbo_1: nurseCbo,
          co_dim_equipe_1: teamId,
          ds_filtro_ciaps: '|W90|W78|',
          nu_uuid_ficha: `cohort-${m.ibge}-${id}`,
        }),
      );
      const problem = (n: number, ciap: number, resolved: number | null) =>
        push(
          'tb_fat_atd_ind_problemas',
          factRow('tb_fat_atd_ind_problemas', m.dimId, lmp + 245, {
            co_seq_fat_atd_ind_problemas: idOf(m.index, 3, n),
            co_fat_atd_ind: id,
            co_fat_cidadao_pec: p.id,
            co_dim_ciap: ciap,
            ...(resolved === null ? {} : { co_dim_data_fim_problema: ymd(resolved) }),
            co_dim_cbo_1: nurseCbo,
            co_dim_equipe_1: teamId,
          }),
        );
      problem(consultation, w90, null);
      problem(50_000 + i, w78, lmp + 240);
      if (k < pc.puerperalVisit) agentVisit(p, ++visits, lmp + 246);
    });
    const cd = INDICATOR_COHORT.childDevelopment;
    for (let i = 0; i < cd.babies; i++) {
      const born = day - 60;
      const p = citizen(0, i % 2 === 0, { bornOn: born });
      if (i >= cd.followed) continue;
      const id = idOf(m.index, 2, ++consultation);
      push(
        'tb_fat_atendimento_individual',
        factRow('tb_fat_atendimento_individual', m.dimId, born + 10, {
          co_seq_fat_atd_ind: id,
          co_fat_cidadao_pec: p.id,
          nu_cns: p.cns,
          nu_cpf_cidadao: p.cpf,
          dt_inicial_atendimento: `${isoOfDay(born + 10)} 09:00:00`,
          dt_final_atendimento: `${isoOfDay(born + 10)} 10:00:00`,
          co_dim_cbo_1: nurseCbo,
          co_dim_equipe_1: teamId,
          nu_peso: 4.1,
          nu_altura: 0.53,
          ds_filtro_ciaps: '|ABP004|',
          nu_uuid_ficha: `cohort-${m.ibge}-${id}`,
        }),
      );
      push(
        'tb_fat_atd_ind_problemas',
        factRow('tb_fat_atd_ind_problemas', m.dimId, born + 10, {
          co_seq_fat_atd_ind_problemas: idOf(m.index, 3, consultation),
          co_fat_atd_ind: id,
          co_fat_cidadao_pec: p.id,
          co_dim_ciap: abp004,
          co_dim_cbo_1: nurseCbo,
          co_dim_equipe_1: teamId,
        }),
      );
      for (const [k, d] of [10, 50].entries())
        push(
          'tb_fat_visita_domiciliar',
          factRow('tb_fat_visita_domiciliar', m.dimId, born + d, {
            co_seq_fat_visita_domiciliar: idOf(m.index, 10, 2 * i + k + 1),
            co_fat_cidadao_pec: p.id,
            nu_cns: p.cns,
            co_dim_cbo: acsCbo,
            co_dim_equipe: teamId,
            // The motive C2 asks for: newborn on day 10, child on day 50.
            ...(d <= 28 ? { st_acomp_recem_nascido: 1 } : { st_acomp_crianca: 1 }),
          }),
        );
    }
    const wc = INDICATOR_COHORT.womensCancer;
    for (let i = 0; i < wc.girls; i++) {
      const p = citizen(12, true);
      if (i >= wc.vaccinated) continue;
      const hpvDay = day - 365;
      const header = idOf(m.index, 7, 1000 + i);
      push(
        'tb_fat_vacinacao',
        factRow('tb_fat_vacinacao', m.dimId, hpvDay, {
          co_seq_fat_vacinacao: header,
          co_fat_cidadao_pec: p.id,
          nu_cns: p.cns,
          nu_cpf_cidadao: p.cpf,
          co_dim_cbo: nurseCbo,
          co_dim_equipe: teamId,
          nu_uuid_ficha: `cohort-${m.ibge}-hpv-${i + 1}`,
        }),
      );
      push(
        'tb_fat_vacinacao_vacina',
        factRow('tb_fat_vacinacao_vacina', m.dimId, hpvDay, {
          co_seq_fat_vacinacao_vacina: idOf(m.index, 8, 1000 + i),
          co_fat_vacinacao: header,
          co_fat_cidadao_pec: p.id,
          co_dim_imunobiologico: hpv,
          co_dim_dose_imunobiologico: firstDose,
          co_dim_tempo_vacina_aplicada: ymd(hpvDay),
          no_lote: 'COORTE',
        }),
      );
    }
    const mammographyRequested = (p: { id: number }, consultationId: number) =>
      push(
        'tb_fat_atd_ind_procedimentos',
        factRow('tb_fat_atd_ind_procedimentos', m.dimId, day, {
          co_seq_fat_atd_ind_procedimentos: idOf(m.index, 5, ++exam),
          co_fat_atd_ind: consultationId,
          co_fat_cidadao_pec: p.id,
          co_dim_procedimento_solicitado: mammography,
          co_dim_cbo_1: doctorCbo,
          co_dim_equipe_1: teamId,
        }),
      );
    for (let i = 0; i < wc.women; i++) {
      const p = citizen(55, true);
      const consultationId = consult(p, a98, 'A98', null);
      if (i < wc.mammography) mammographyRequested(p, consultationId);
      if (i < wc.sexualHealth) consult(p, abp003, 'ABP003', null);
    }
    // A registration version of the cohort day declaring the gender identity (LEDI code).
    const declare = (p: { id: number; cpf: string; cns: string }, n: number, female: boolean, identity: string) =>
      push(
        'tb_fat_cad_individual',
        factRow('tb_fat_cad_individual', m.dimId, day, {
          co_seq_fat_cad_individual: idOf(m.index, 6, 500 + n),
          nu_uuid_ficha: `cohort-${m.ibge}-cad-gender-${n}`,
          nu_uuid_ficha_origem: `cohort-${m.ibge}-cad-gender-${n}`,
          co_fat_cidadao_pec: p.id,
          nu_cns: p.cns,
          nu_cpf_cidadao: p.cpf,
          co_dim_equipe: teamId,
          co_dim_sexo: female ? SEX.female : SEX.male,
          co_dim_identidade_genero: code(codes.genderIdentity, identity),
        }),
      );
    for (let i = 0; i < wc.transMen; i++) {
      const p = citizen(55, false);
      declare(p, i + 1, false, GENDER_IDENTITY.transMan);
      const consultationId = consult(p, a98, 'A98', null);
      if (i < wc.transMenMammography) mammographyRequested(p, consultationId);
    }
    for (let i = 0; i < wc.transWomen; i++) {
      const p = citizen(55, true);
      declare(p, wc.transMen + i + 1, true, GENDER_IDENTITY.transWoman);
      mammographyRequested(p, consult(p, a98, 'A98', null));
    }
    const v = INDICATOR_COHORT.vaccination;
    const doseDay = day - 182;
    for (let i = 0; i < v.children; i++) {
      const p = citizen(1, i % 2 === 0);
      const doses = i < v.vaccinated ? [penta, vip] : i < v.vaccinated + v.pentavalentOnly ? [penta] : [];
      if (doses.length === 0) continue;
      const header = idOf(m.index, 7, i + 1);
      push(
        'tb_fat_vacinacao',
        factRow('tb_fat_vacinacao', m.dimId, doseDay, {
          co_seq_fat_vacinacao: header,
          co_fat_cidadao_pec: p.id,
          nu_cns: p.cns,
          nu_cpf_cidadao: p.cpf,
          co_dim_cbo: nurseCbo,
          co_dim_equipe: teamId,
          nu_uuid_ficha: `cohort-${m.ibge}-vac-${i + 1}`,
        }),
      );
      doses.forEach((vaccine, k) =>
        push(
          'tb_fat_vacinacao_vacina',
          factRow('tb_fat_vacinacao_vacina', m.dimId, doseDay, {
            co_seq_fat_vacinacao_vacina: idOf(m.index, 8, 2 * i + k + 1),
            co_fat_vacinacao: header,
            co_fat_cidadao_pec: p.id,
            co_dim_imunobiologico: vaccine,
            co_dim_dose_imunobiologico: thirdDose,
            co_dim_tempo_vacina_aplicada: ymd(doseDay),
            no_lote: 'COORTE',
          }),
        ),
      );
    }
  }
  return rows;
}
