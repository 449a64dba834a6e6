/**
 * Vocabulary of the synthetic PEC: codes the indicators look for, plus plausible filler.
 * Names of filler entries are marked as synthetic; nothing here is a reference table.
 */

export interface CodeEntry {
  code: string;
  name: string;
  /** st_registro_valido = 0: a retired code still present in the dimension. */
  retired?: boolean;
}

export interface Uf {
  code: string;
  sg: string;
  name: string;
  ddd: string;
  /** Approximate capital coordinates, to place synthetic households in the right region. */
  lat: number;
  lon: number;
}

export const UFS: readonly Uf[] = [
  { code: '11', sg: 'RO', name: 'Rondônia', ddd: '69', lat: -8.76, lon: -63.9 },
  { code: '12', sg: 'AC', name: 'Acre', ddd: '68', lat: -9.97, lon: -67.81 },
  { code: '13', sg: 'AM', name: 'Amazonas', ddd: '92', lat: -3.1, lon: -60.02 },
  { code: '14', sg: 'RR', name: 'Roraima', ddd: '95', lat: 2.82, lon: -60.67 },
  { code: '15', sg: 'PA', name: 'Pará', ddd: '91', lat: -1.46, lon: -48.5 },
  { code: '16', sg: 'AP', name: 'Amapá', ddd: '96', lat: 0.03, lon: -51.07 },
  { code: '17', sg: 'TO', name: 'Tocantins', ddd: '63', lat: -10.18, lon: -48.33 },
  { code: '21', sg: 'MA', name: 'Maranhão', ddd: '98', lat: -2.53, lon: -44.3 },
  { code: '22', sg: 'PI', name: 'Piauí', ddd: '86', lat: -5.09, lon: -42.8 },
  { code: '23', sg: 'CE', name: 'Ceará', ddd: '85', lat: -3.73, lon: -38.52 },
  { code: '24', sg: 'RN', name: 'Rio Grande do Norte', ddd: '84', lat: -5.79, lon: -35.21 },
  { code: '25', sg: 'PB', name: 'Paraíba', ddd: '83', lat: -7.12, lon: -34.86 },
  { code: '26', sg: 'PE', name: 'Pernambuco', ddd: '81', lat: -8.05, lon: -34.88 },
  { code: '27', sg: 'AL', name: 'Alagoas', ddd: '82', lat: -9.67, lon: -35.74 },
  { code: '28', sg: 'SE', name: 'Sergipe', ddd: '79', lat: -10.91, lon: -37.07 },
  { code: '29', sg: 'BA', name: 'Bahia', ddd: '71', lat: -12.97, lon: -38.5 },
  { code: '31', sg: 'MG', name: 'Minas Gerais', ddd: '31', lat: -19.92, lon: -43.94 },
  { code: '32', sg: 'ES', name: 'Espírito Santo', ddd: '27', lat: -20.32, lon: -40.34 },
  { code: '33', sg: 'RJ', name: 'Rio de Janeiro', ddd: '21', lat: -22.91, lon: -43.17 },
  { code: '35', sg: 'SP', name: 'São Paulo', ddd: '11', lat: -23.55, lon: -46.63 },
  { code: '41', sg: 'PR', name: 'Paraná', ddd: '41', lat: -25.43, lon: -49.27 },
  { code: '42', sg: 'SC', name: 'Santa Catarina', ddd: '48', lat: -27.6, lon: -48.55 },
  { code: '43', sg: 'RS', name: 'Rio Grande do Sul', ddd: '51', lat: -30.03, lon: -51.23 },
  { code: '50', sg: 'MS', name: 'Mato Grosso do Sul', ddd: '67', lat: -20.47, lon: -54.62 },
  { code: '51', sg: 'MT', name: 'Mato Grosso', ddd: '65', lat: -15.6, lon: -56.1 },
  { code: '52', sg: 'GO', name: 'Goiás', ddd: '62', lat: -16.68, lon: -49.25 },
  { code: '53', sg: 'DF', name: 'Distrito Federal', ddd: '61', lat: -15.79, lon: -47.88 },
];

export const UF_SIGLAS = UFS.map((u) => u.sg) as [string, ...string[]];

/** Occupations; some real CBO codes contain letters. */
export const CBOS = {
  doctor: { code: '225142', name: 'Médico da estratégia de saúde da família' },
  nurse: { code: '223565', name: 'Enfermeiro da estratégia de saúde da família' },
  nursingTech: { code: '322245', name: 'Técnico de enfermagem da estratégia de saúde da família' },
  acs: { code: '515105', name: 'Agente comunitário de saúde' },
  dentist: { code: '223293', name: 'Cirurgião-dentista da estratégia de saúde da família' },
  resident: { code: '2231F9', name: 'Médico residente' },
  nurseResident: { code: '2235C1', name: 'Enfermeiro residente (código com letras)' },
} as const satisfies Record<string, CodeEntry>;

export const CBO_FILLER: readonly CodeEntry[] = [
  { code: '225125', name: 'Médico clínico' },
  { code: '225130', name: 'Médico de família e comunidade' },
  { code: '223505', name: 'Enfermeiro' },
  { code: '322205', name: 'Técnico de enfermagem' },
  { code: '322230', name: 'Auxiliar de enfermagem' },
  { code: '251510', name: 'Psicólogo clínico' },
  { code: '223405', name: 'Farmacêutico' },
  { code: '223710', name: 'Nutricionista' },
  { code: '223605', name: 'Fisioterapeuta geral' },
  { code: '251605', name: 'Assistente social' },
  { code: '515140', name: 'Agente de combate às endemias' },
  { code: '422110', name: 'Recepcionista em geral' },
  { code: '2231A1', name: 'Médico (código antigo)', retired: true },
];

/** ICD-10 codes the indicators look for, by purpose. */
export const CID = {
  hypertension: ['I10', 'I11', 'I110', 'I119', 'I12', 'I13', 'I15'],
  diabetes: ['E10', 'E109', 'E11', 'E119', 'E12', 'E13', 'E14', 'E149'],
  prenatal: ['Z340', 'Z348', 'Z349', 'Z321', 'Z33', 'Z35', 'Z36'],
  pregnancyComplication: ['O10', 'O13', 'O24', 'O244', 'O26', 'O234'],
  cytology: ['Z124'],
  acute: ['J00', 'J06', 'J069', 'K29', 'M54', 'M545', 'N39', 'N390', 'F32', 'F41', 'F411', 'R51', 'A09', 'B34', 'Z00', 'Z000', 'Z001', 'Z019', 'L30', 'H10'],
} as const;

export const CID_NAMES: Readonly<Record<string, string>> = {
  I10: 'Hipertensão essencial (primária)',
  I11: 'Doença cardíaca hipertensiva',
  I110: 'Doença cardíaca hipertensiva com insuficiência cardíaca (congestiva)',
  I119: 'Doença cardíaca hipertensiva sem insuficiência cardíaca (congestiva)',
  I12: 'Doença renal hipertensiva',
  I13: 'Doença cardíaca e renal hipertensiva',
  I15: 'Hipertensão secundária',
  E10: 'Diabetes mellitus insulino-dependente',
  E109: 'Diabetes mellitus insulino-dependente - sem complicações',
  E11: 'Diabetes mellitus não-insulino-dependente',
  E119: 'Diabetes mellitus não-insulino-dependente - sem complicações',
  E12: 'Diabetes mellitus relacionado com a desnutrição',
  E13: 'Outros tipos especificados de diabetes mellitus',
  E14: 'Diabetes mellitus não especificado',
  E149: 'Diabetes mellitus não especificado - sem complicações',
  Z340: 'Supervisão de primeira gravidez normal',
  Z348: 'Supervisão de outras gravidezes normais',
  Z349: 'Supervisão de gravidez normal, não especificada',
  Z321: 'Gravidez confirmada',
  Z33: 'Gravidez como achado casual',
  Z35: 'Supervisão de gravidez de alto risco',
  Z36: 'Rastreamento pré-natal',
  O10: 'Hipertensão pré-existente complicando a gravidez, o parto e o puerpério',
  O13: 'Hipertensão gestacional sem proteinúria significativa',
  O24: 'Diabetes mellitus na gravidez',
  O244: 'Diabetes mellitus que surge durante a gravidez',
  O26: 'Assistência materna por outras complicações ligadas predominantemente à gravidez',
  O234: 'Infecção não especificada do trato urinário na gravidez',
  Z124: 'Exame especial de rastreamento de neoplasia do colo do útero',
  J00: 'Nasofaringite aguda [resfriado comum]',
  J06: 'Infecções agudas das vias aéreas superiores de localizações múltiplas e não especificadas',
  J069: 'Infecção aguda das vias aéreas superiores não especificada',
  K29: 'Gastrite e duodenite',
  M54: 'Dorsalgia',
  M545: 'Dor lombar baixa',
  N39: 'Outros transtornos do trato urinário',
  N390: 'Infecção do trato urinário de localização não especificada',
  F32: 'Episódios depressivos',
  F41: 'Outros transtornos ansiosos',
  F411: 'Ansiedade generalizada',
  R51: 'Cefaléia',
  A09: 'Diarréia e gastroenterite de origem infecciosa presumível',
  B34: 'Doenças por vírus, de localização não especificada',
  Z00: 'Exame geral e investigação de pessoas sem queixas ou diagnóstico relatado',
  Z000: 'Exame médico geral',
  Z001: 'Exame de rotina de saúde da criança',
  Z019: 'Exame especial não especificado',
  L30: 'Outras dermatites',
  H10: 'Conjuntivite',
};

/** ICPC-2 (CIAP) codes, by purpose. */
export const CIAP = {
  hypertension: ['K86', 'K87'],
  diabetes: ['T89', 'T90'],
  prenatal: ['W78', 'W03', 'W05', 'W71', 'W79', 'W80', 'W81', 'W84', 'W85'],
  cytology: ['A98'],
  acute: ['R74', 'R05', 'L03', 'D01', 'D73', 'P74', 'P76', 'S88', 'U71', 'N01', 'A03', 'T93', 'K85', 'F70'],
} as const;

export const CIAP_NAMES: Readonly<Record<string, string>> = {
  K86: 'Hipertensão sem complicações',
  K87: 'Hipertensão com complicações',
  T89: 'Diabetes insulino-dependente',
  T90: 'Diabetes não insulino-dependente',
  W03: 'Hemorragia antes do parto',
  W05: 'Náusea/vômito da gravidez',
  W71: 'Infecções que complicam a gravidez',
  W78: 'Gravidez',
  W79: 'Gravidez não desejada',
  W80: 'Gravidez ectópica',
  W81: 'Toxemia gravídica',
  W84: 'Gravidez de alto risco',
  W85: 'Diabetes gestacional',
  A98: 'Medicina preventiva/manutenção da saúde',
  R74: 'Infecção aguda do aparelho respiratório superior',
  R05: 'Tosse',
  L03: 'Sintomas/queixas da região lombar',
  D01: 'Dor abdominal generalizada/cólicas',
  D73: 'Gastroenterite presumível infecção',
  P74: 'Distúrbio ansioso/estado de ansiedade',
  P76: 'Perturbações depressivas',
  S88: 'Dermatite de contato/alérgica',
  U71: 'Cistite/outra infecção urinária',
  N01: 'Cefaléia',
  A03: 'Febre',
  T93: 'Alteração do metabolismo dos lípidos',
  K85: 'Pressão arterial elevada',
  F70: 'Conjuntivite infecciosa',
};

/**
 * The end of a pregnancy (C3): delivery, W90. Only the planted indicator cohort uses it; appended after
 * every other CIAP code so the ids of those stay as they were.
 */
export const CIAP_PUERPERIUM: readonly CodeEntry[] = [{ code: 'W90', name: 'Parto sem complicações de nascido vivo' }];

/** "AB…" condition codes of the e-SUS forms live in tb_dim_ciap too. */
export const CIAP_AB_FILLER: readonly CodeEntry[] = [
  { code: 'ABP001', name: 'Condição avaliada ABP001 (descrição sintética)' },
  { code: 'ABP002', name: 'Condição avaliada ABP002 (descrição sintética)' },
  { code: 'ABP003', name: 'Condição avaliada ABP003 (descrição sintética)' },
  { code: 'ABP004', name: 'Condição avaliada ABP004 (descrição sintética)' },
];

/** Procedures: SIGTAP 10-digit codes and their "AB…" equivalents. */
export const PROC = {
  bloodPressure: ['0301100039', 'ABPG033'],
  hba1c: ['0202010503', 'ABEX008'],
  cytology: ['0201020033', 'ABPG010'],
  doctorVisit: '0301010064',
  otherVisit: '0301010030',
  firstListening: '0301040079',
  anthropometry: '0101040024',
  capillaryGlucose: '0214010015',
  dressing: '0301100284',
  stitches: '0301100152',
  glucose: '0202010473',
  cholesterol: '0202010295',
  creatinine: '0202010317',
  bloodCount: '0202020380',
  urine: '0202050017',
  // e-SUS AB exam codes (LEDI dictionary, ListaExames): ABEX019 syphilis serology (VDRL), ABEX018 HIV serology.
  syphilisTest: 'ABEX019',
  hivTest: 'ABEX018',
  // C7 practice D: bilateral screening mammography (requested or evaluated).
  mammography: '0204030188',
} as const;

export const PROC_NAMES: Readonly<Record<string, string>> = {
  '0301100039': 'Aferição de pressão arterial',
  ABPG033: 'Aferição de pressão arterial (código AB)',
  '0202010503': 'Dosagem de hemoglobina glicosilada',
  ABEX008: 'Hemoglobina glicada (código AB)',
  '0201020033': 'Coleta de material p/ exame citopatológico de colo uterino',
  ABPG010: 'Coleta de citopatológico de colo uterino (código AB)',
  '0301010064': 'Consulta médica em atenção básica',
  '0301010030': 'Consulta de profissionais de nível superior na atenção básica (exceto médico)',
  '0301040079': 'Escuta inicial/orientação (acolhimento a demanda espontânea)',
  '0101040024': 'Avaliação antropométrica',
  '0214010015': 'Glicemia capilar',
  '0301100284': 'Curativo simples',
  '0301100152': 'Retirada de pontos de cirurgias básicas (por paciente)',
  '0202010473': 'Dosagem de glicose',
  '0202010295': 'Dosagem de colesterol total',
  '0202010317': 'Dosagem de creatinina',
  '0202020380': 'Hemograma completo',
  '0202050017': 'Análise de caracteres físicos, elementos e sedimento da urina',
  ABEX019: 'Sorologia de sífilis (VDRL)',
  ABEX018: 'Sorologia para HIV',
  // Last, so the ids of the codes above (and of the filler after them) stay as they were.
  '0204030188': 'Mamografia bilateral para rastreamento',
};

export interface Vaccine {
  key: string;
  /** nu_identificador as the PEC stores it (text). */
  id: string;
  sg: string;
  name: string;
}

export const VACCINES: readonly Vaccine[] = [
  { key: 'bcg', id: '15', sg: 'BCG', name: 'BCG' },
  { key: 'hepb', id: '9', sg: 'HB', name: 'Hepatite B' },
  { key: 'penta', id: '42', sg: 'Penta', name: 'Vacina pentavalente (DTP/HB/Hib)' },
  { key: 'vip', id: '22', sg: 'VIP', name: 'Poliomielite inativada' },
  { key: 'vop', id: '28', sg: 'VOP', name: 'Poliomielite oral bivalente' },
  { key: 'pneumo', id: '26', sg: 'Pneumo 10V', name: 'Pneumocócica 10-valente' },
  { key: 'rota', id: '17', sg: 'VORH', name: 'Rotavírus humano' },
  { key: 'menc', id: '27', sg: 'MncC', name: 'Meningocócica C (conjugada)' },
  { key: 'fa', id: '21', sg: 'FA', name: 'Febre amarela' },
  { key: 'scr', id: '24', sg: 'SCR', name: 'Tríplice viral (sarampo, caxumba, rubéola)' },
  { key: 'dtp', id: '46', sg: 'DTP', name: 'Tríplice bacteriana (DTP)' },
  { key: 'hepa', id: '85', sg: 'HA', name: 'Hepatite A' },
  { key: 'tetra', id: '56', sg: 'SCRV', name: 'Tetraviral' },
  { key: 'flu', id: '33', sg: 'INF', name: 'Influenza' },
  { key: 'dtpa', id: '57', sg: 'dTpa', name: 'dTpa adulto (gestantes)' },
  { key: 'dt', id: '25', sg: 'dT', name: 'Dupla adulto' },
  { key: 'covid', id: '89', sg: 'COVID-19', name: 'COVID-19' },
  { key: 'hpv', id: '67', sg: 'HPV4', name: 'Papilomavírus humano quadrivalente' },
];

export const DOSES: readonly CodeEntry[] = [
  { code: '1', name: '1ª dose' },
  { code: '2', name: '2ª dose' },
  { code: '3', name: '3ª dose' },
  { code: '9', name: 'Dose única' },
  { code: '6', name: '1º reforço' },
  { code: '7', name: '2º reforço' },
  { code: '8', name: 'Reforço' },
  { code: '38', name: 'Dose' },
];

/** Children's schedule: age in days, vaccine key, dose code. */
export const CHILD_SCHEDULE: readonly (readonly [number, string, string])[] = [
  [0, 'bcg', '9'],
  [0, 'hepb', '1'],
  [60, 'penta', '1'],
  [60, 'vip', '1'],
  [60, 'pneumo', '1'],
  [60, 'rota', '1'],
  [90, 'menc', '1'],
  [120, 'penta', '2'],
  [120, 'vip', '2'],
  [120, 'pneumo', '2'],
  [120, 'rota', '2'],
  [150, 'menc', '2'],
  [180, 'penta', '3'],
  [180, 'vip', '3'],
  [270, 'fa', '1'],
  [365, 'scr', '1'],
  [365, 'pneumo', '6'],
  [365, 'menc', '6'],
  [450, 'dtp', '6'],
  [450, 'vop', '6'],
  [450, 'hepa', '9'],
  [450, 'tetra', '9'],
  [1460, 'dtp', '7'],
  [1460, 'vop', '7'],
  [1460, 'fa', '8'],
];

export const LOCAIS: readonly CodeEntry[] = [
  { code: '1', name: 'UBS' },
  { code: '2', name: 'Unidade móvel' },
  { code: '3', name: 'Rua' },
  { code: '4', name: 'Domicílio' },
  { code: '5', name: 'Escola/creche' },
  { code: '6', name: 'Outros' },
  { code: '7', name: 'Polo (academia da saúde)' },
  { code: '8', name: 'Instituição/abrigo' },
  { code: '9', name: 'Unidade prisional ou congêneres' },
];

export const TIPOS_ATENDIMENTO: readonly CodeEntry[] = [
  { code: '1', name: 'Consulta agendada programada/cuidado continuado' },
  { code: '2', name: 'Consulta agendada' },
  { code: '4', name: 'Escuta inicial/orientação' },
  { code: '5', name: 'Consulta no dia' },
  { code: '6', name: 'Atendimento de urgência' },
];

/**
 * Gender identities by their LEDI codes (identidadeGeneroCidadao), the ones C7 reads and the cisgender
 * ones: the PEC DW keeps the code in tb_dim_identidade_genero.nu_identificador.
 */
export const IDENTIDADES_GENERO: readonly CodeEntry[] = [
  { code: '149', name: 'Homem transgênero' },
  { code: '150', name: 'Mulher transgênero' },
  { code: '200', name: 'Homem cisgênero' },
  { code: '201', name: 'Mulher cisgênero' },
];

export const DESFECHOS_VISITA: readonly CodeEntry[] = [
  { code: '1', name: 'Visita realizada' },
  { code: '2', name: 'Visita recusada' },
  { code: '3', name: 'Ausente' },
];

export const FEMALE_NAMES = [
  'MARIA',
  'ANA',
  'FRANCISCA',
  'ANTÔNIA',
  'ADRIANA',
  'JULIANA',
  'MÁRCIA',
  'FERNANDA',
  'PATRÍCIA',
  'ALINE',
  'CONCEIÇÃO',
  'LUÍZA',
  'JOSEFA',
  'SEBASTIANA',
  'LÚCIA',
  'BEATRIZ',
  'CÉLIA',
  'GRAÇA',
  'HELENA',
  'ÍRIS',
  'ROSÂNGELA',
  'VITÓRIA',
  'LETÍCIA',
  'MÔNICA',
  'DÉBORA',
  'INÊS',
  'SÔNIA',
  'ALICE',
  'VALENTINA',
  'ISABELA',
] as const;
export const MALE_NAMES = [
  'JOSÉ',
  'JOÃO',
  'ANTÔNIO',
  'FRANCISCO',
  'CARLOS',
  'PAULO',
  'PEDRO',
  'LUCAS',
  'LUÍS',
  'MARCOS',
  'RAIMUNDO',
  'SEBASTIÃO',
  'ANDRÉ',
  'FÁBIO',
  'MÁRIO',
  'CÉSAR',
  'JOAQUIM',
  'GONÇALO',
  'VINÍCIUS',
  'CAUÃ',
  'ARTHUR',
  'HEITOR',
  'BENTO',
  'RAFAEL',
  'TIAGO',
  'SÉRGIO',
  'DAVI',
  'JÚLIO',
  'ÁLVARO',
  'OTÁVIO',
] as const;
export const SURNAMES = [
  'SILVA',
  'SANTOS',
  'OLIVEIRA',
  'SOUZA',
  'RODRIGUES',
  'FERREIRA',
  'ALVES',
  'PEREIRA',
  'LIMA',
  'GOMES',
  'COSTA',
  'RIBEIRO',
  'MARTINS',
  'CARVALHO',
  'ARAÚJO',
  'CONCEIÇÃO',
  'GONÇALVES',
  'NASCIMENTO',
  'ASSUNÇÃO',
  'MAGALHÃES',
  'SIMÕES',
  'BRANDÃO',
  'FALCÃO',
  'DAMIÃO',
  'ROMÃO',
  "D'ÁVILA",
  'JESUS',
  'LOPES',
  'BARBOSA',
  'CAMPÊLO',
] as const;
export const CONNECTORS = ['DA', 'DOS', 'DE', 'DAS'] as const;

export const NEIGHBOURHOODS = [
  'Centro',
  'Vila Nova',
  'Jardim São José',
  'Bela Vista',
  'Conceição',
  'Santa Luzia',
  'São João',
  'Boa Esperança',
  'Jardim América',
  'Alto da Serra',
  'Zona Rural',
  'Parque das Árvores',
  "Vila D'Ajuda",
] as const;

/**
 * Health unit names; some hold the characters that break naive CSV/COPY handling
 * (double quotes, semicolons, an apostrophe, a line break).
 */
export const UNIT_NAMES = [
  'UBS "Vila Nova"; Centro',
  'UBS Dr. José Conceição',
  'ESF São João',
  "USF Maria D'Ajuda",
  'UBS Jardim América',
  'Posto de Saúde Santa Luzia\nAnexo',
  'ESF Boa Esperança; Zona Rural',
  'UBS Alto da Serra',
  'Centro de Saúde Açaí',
  'UBS Parque das Árvores',
] as const;

/** Lot numbers as typed by hand: line breaks, quotes, semicolons, a tab, a backslash. */
export const UNUSUAL_LOT_NUMBERS = ['LOTE 4521\nVAL 12/2027', 'FA"2231"', 'AB12;CD34', 'FJ\\8842', "lote 'novo'\tcx 2", 'L 778;\r\nrecebido 03/2026'] as const;

export const EMAIL_DOMAINS = ['gmail.com', 'hotmail.com', 'yahoo.com.br', 'outlook.com', 'bol.com.br'] as const;

/** PEC releases whose Liquibase changelogs an installation has applied, oldest first. */
export const PEC_RELEASES = ['4.2.7', '4.2.8', '4.5.5', '5.0.14', '5.1.20', '5.2.38', '5.3.24', '5.4.19', '5.5.12'] as const;

/** Lower-case, accent-free search text, as the PEC keeps in ds_filtro. */
export function searchText(...parts: string[]): string {
  return parts
    .join(' ')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}
