import {
  Connection,
  MunicipalityEntry,
  MunicipalityRegistry,
  PasswordSource,
  installationOf,
  isLoopback,
  sslmodeOf,
  vpnAddressProblems,
} from '../../shared/contracts/municipalities';

/**
 * The municipality registry's rules at their edges: what a registry entry may say about reaching a
 * PEC database, and the rules that keep one municipality's credentials and traffic away from
 * another's (one presented VPN address per installation, TLS unless a reason is written). Each
 * refusal names the field. (test/unit/registry-file.test.ts reads the rules through the YAML file.)
 */
const ok = (schema: { safeParse: (v: unknown) => { success: boolean } }, v: unknown) => schema.safeParse(v).success;
/** The fields the first issue names, as `a.b.c`, and its message. */
function issue(schema: typeof MunicipalityEntry | typeof MunicipalityRegistry, v: unknown): string {
  const r = schema.safeParse(v);
  if (r.success) return 'accepted';
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join(' | ');
}

const pw = { env: 'PEC_PASSWORD' };
const tls = { ibge: '3509502', name: 'Campinas', network: 'tls', connection: { host: 'pec.campinas.sp.gov.br', password: pw } };
const vpnSettings = { peerIps: ['203.0.113.10'], peerAsn: 65010 };
const vpn = { ibge: '4106902', name: 'Curitiba', network: 'vpn', vpn: vpnSettings, connection: { host: '100.64.0.10', password: pw } };
const withConnection = (base: typeof tls | typeof vpn, c: object) => ({ ...base, connection: { ...base.connection, ...c } });

describe('password sources', () => {
  it('an environment variable name: upper case, digits and _, starting with a letter', () => {
    for (const env of ['P', 'PEC_PASSWORD_3509502', 'A1_']) expect([env, ok(PasswordSource, { env })]).toEqual([env, true]);
    for (const env of ['', 'pec', '1PEC', '_PEC', 'PEC-PASS', 'PEC PASS', 'PECé', 'PEC\n']) expect([env, ok(PasswordSource, { env })]).toEqual([env, false]);
  });
  it('a Secret Manager secret id: 1 to 255 of letters, digits, _ and -', () => {
    for (const secret of ['a', 'pec-db-password_3550308', 'A'.repeat(255)]) expect(ok(PasswordSource, { secret })).toBe(true);
    for (const secret of ['', 'a'.repeat(256), 'pec/db', 'projects/p/secrets/s', 'a b', 'pec.db']) expect([secret, ok(PasswordSource, { secret })]).toEqual([secret, false]);
  });
  it('a file: any non-empty path; never two sources, never the password itself', () => {
    expect(ok(PasswordSource, { file: '/run/secrets/pec' })).toBe(true);
    expect(ok(PasswordSource, { file: '' })).toBe(false);
    expect(ok(PasswordSource, { env: 'A', secret: 'b' })).toBe(false);
    expect(ok(PasswordSource, { env: 'A', value: 'hunter2' })).toBe(false);
    expect(ok(PasswordSource, 'hunter2')).toBe(false);
  });
});

describe('connection', () => {
  it('fills the PEC defaults: port 5433, database esus, the read-only role', () => {
    expect(Connection.parse({ host: 'db', password: pw })).toEqual({ host: 'db', port: 5433, database: 'esus', user: 'esus_leitura', password: pw });
  });
  it('a host name (up to 253 characters) or an IP address, nothing else', () => {
    for (const host of ['db', 'pec.campinas.sp.gov.br', 'x'.repeat(253), '10.0.0.5', '::1', '[::1]', 'fe80::1', '[2001:db8::5]'])
      expect([host, ok(Connection, { host, password: pw })]).toEqual([host, true]);
    for (const host of ['', 'x'.repeat(254), '[::1', '::1]', 'db_host', 'db host', 'db;drop', 'db/x', '[fe80::1%eth0]', 'x[::1]', '[::1]x', 'db\n'])
      expect([host, ok(Connection, { host, password: pw })]).toEqual([host, false]);
  });
  it('a port from 1 to 65535', () => {
    for (const port of [1, 5432, 65535]) expect(ok(Connection, { host: 'db', port, password: pw })).toBe(true);
    for (const port of [0, 65536, 5433.5, -1, '5433']) expect([port, ok(Connection, { host: 'db', port, password: pw })]).toEqual([port, false]);
  });
  it('database and role names of 1 to 63 letters, digits, _ and -', () => {
    for (const field of ['database', 'user']) {
      for (const v of ['a', 'esus_leitura-2', 'A'.repeat(63)]) expect([field, v, ok(Connection, { host: 'db', [field]: v, password: pw })]).toEqual([field, v, true]);
      for (const v of ['', 'a'.repeat(64), 'esus;', 'esus leitura', 'x"y', 'esus\n'])
        expect([field, v, ok(Connection, { host: 'db', [field]: v, password: pw })]).toEqual([field, v, false]);
    }
  });
  it('a reason for TLS off says something: 10 to 300 characters, spaces not counted', () => {
    const c = (sslmodeReason: string) => ok(Connection, { host: 'db', sslmode: 'disable', sslmodeReason, password: pw });
    expect(c('x'.repeat(10))).toBe(true);
    expect(c('x'.repeat(300))).toBe(true);
    expect(c('x'.repeat(9))).toBe(false);
    expect(c(`   ${'x'.repeat(9)}      `)).toBe(false);
    expect(c('x'.repeat(301))).toBe(false);
    expect(ok(Connection, { host: 'db', sslmode: 'allow', password: pw })).toBe(false);
    expect(ok(Connection, { host: 'db', password: pw, ssl: true })).toBe(false);
  });
});

describe('a registry entry', () => {
  it('is accepted as documented, with its defaults', () => {
    const parsed = MunicipalityEntry.parse(vpn);
    expect(parsed).toMatchObject({ cohort: 'default', enabled: true });
    expect(parsed).not.toHaveProperty('installation');
    expect(MunicipalityEntry.parse(tls).network).toBe('tls');
  });
  it('names, cohorts and installations within their rules', () => {
    expect(issue(MunicipalityEntry, { ...tls, name: 'X' })).toMatch(/^name: /);
    expect(ok(MunicipalityEntry, { ...tls, name: 'Xy' })).toBe(true);
    expect(ok(MunicipalityEntry, { ...tls, name: 'x'.repeat(100) })).toBe(true);
    expect(ok(MunicipalityEntry, { ...tls, name: 'x'.repeat(101) })).toBe(false);
    for (const [field, max] of [
      ['cohort', 40],
      ['installation', 63],
    ] as const) {
      for (const v of ['a', 'wave-2', 'a'.repeat(max)]) expect([field, v, ok(MunicipalityEntry, { ...tls, [field]: v })]).toEqual([field, v, true]);
      for (const v of ['', 'a'.repeat(max + 1), 'Wave-2', 'wave_2', 'wave 2', 'x/y', 'wave\n'])
        expect([field, v, issue(MunicipalityEntry, { ...tls, [field]: v })]).toEqual([field, v, `${field}: must be lower-case letters, digits and "-"`]);
    }
    expect(ok(MunicipalityEntry, { ...tls, network: 'internet' })).toBe(false);
    expect(ok(MunicipalityEntry, { ...tls, extra: 1 })).toBe(false);
    expect(MunicipalityEntry.parse({ ...tls, enabled: false }).enabled).toBe(false);
  });
  it('VPN peers: one or two IPv4 addresses and a private ASN (64512–65534)', () => {
    const v = (s: object) => ok(MunicipalityEntry, { ...vpn, vpn: { ...vpnSettings, ...s } });
    expect(v({ peerIps: ['203.0.113.10', '203.0.113.11'] })).toBe(true);
    expect(v({ peerIps: [] })).toBe(false);
    expect(v({ peerIps: ['203.0.113.10', '203.0.113.11', '203.0.113.12'] })).toBe(false);
    for (const ip of ['203.0.113', '203.0.113.10.1', 'x203.0.113.10', '203.0.113.10x', '2030.0.113.10', 'peer.example.org', '::1'])
      expect([ip, v({ peerIps: [ip] })]).toEqual([ip, false]);
    for (const peerAsn of [64512, 65534]) expect(v({ peerAsn })).toBe(true);
    for (const peerAsn of [64511, 65535, 65010.5]) expect([peerAsn, v({ peerAsn })]).toEqual([peerAsn, false]);
    expect(v({ extra: 1 })).toBe(false);
  });
  it('network "vpn" needs its peer settings, except to a loopback source', () => {
    const { vpn: _, ...noPeers } = vpn;
    expect(issue(MunicipalityEntry, noPeers)).toBe('vpn: network "vpn" needs vpn.peerIps and vpn.peerAsn');
    expect(issue(MunicipalityEntry, withConnection(noPeers as typeof vpn, { host: '127.0.0.1' }))).toBe('accepted');
  });
  it('network "vpn" reaches the presented IPv4 address, never a host name (loopback excepted)', () => {
    for (const host of ['pec.curitiba.pr.gov.br', 'fe80::1', '100.64.0'])
      expect([host, issue(MunicipalityEntry, withConnection(vpn, { host }))]).toEqual([host, expect.stringMatching(/^connection\.host: network "vpn" needs the IPv4 address/)]);
    expect(issue(MunicipalityEntry, withConnection(vpn, { host: 'localhost' }))).toBe('accepted');
    // The TLS path may name its host.
    expect(issue(MunicipalityEntry, tls)).toBe('accepted');
  });
  it('TLS off: never on the TLS path; over a VPN only with a written reason; to a loopback source freely', () => {
    expect(issue(MunicipalityEntry, withConnection(tls, { sslmode: 'disable' }))).toBe('connection.sslmode: network "tls" cannot use sslmode "disable"');
    expect(issue(MunicipalityEntry, withConnection(tls, { sslmode: 'require' }))).toBe('accepted');
    expect(issue(MunicipalityEntry, withConnection(vpn, { sslmode: 'disable' }))).toMatch(
      /^connection\.sslmodeReason: sslmode "disable" over a VPN needs connection\.sslmodeReason/,
    );
    expect(issue(MunicipalityEntry, withConnection(vpn, { sslmode: 'disable', sslmodeReason: 'PEC 4.2 on Windows without OpenSSL' }))).toBe('accepted');
    expect(issue(MunicipalityEntry, withConnection(vpn, { host: '127.0.0.1', sslmode: 'disable' }))).toBe('accepted');
  });
  it('a reason is only for sslmode "disable"', () => {
    for (const sslmode of [undefined, 'require', 'verify-full'])
      expect([sslmode, issue(MunicipalityEntry, withConnection(vpn, { sslmode, sslmodeReason: 'a reason long enough' }))]).toEqual([
        sslmode,
        'connection.sslmodeReason: explains sslmode "disable" only: remove it, or set sslmode: disable',
      ]);
  });
});

describe('loopback, installation and the effective sslmode', () => {
  it('loopback is this machine only', () => {
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '127.255.255.255', '::1', '[::1]']) expect([h, isLoopback(h)]).toEqual([h, true]);
    for (const h of ['localhost.example.org', 'x.localhost', '127.0.0.1.nip.io', 'x127.0.0.1', '127.0.0', '127.0.0.1234', '128.0.0.1', '10.0.0.1', '::2', '[::2]', '0.0.0.0'])
      expect([h, isLoopback(h)]).toEqual([h, false]);
  });
  it('a municipality is its own installation unless it shares one', () => {
    expect(installationOf(MunicipalityEntry.parse(vpn))).toBe('4106902');
    expect(installationOf(MunicipalityEntry.parse({ ...vpn, installation: 'pr-consorcio' }))).toBe('pr-consorcio');
  });
  it('verify-full on the TLS path (even to a loopback name), require inside a VPN, none to a loopback VPN source; an explicit mode wins', () => {
    const e = (v: object) => MunicipalityEntry.parse(v);
    expect(sslmodeOf(e(tls))).toBe('verify-full');
    expect(sslmodeOf(e(withConnection(tls, { host: 'localhost' })))).toBe('verify-full');
    expect(sslmodeOf(e(vpn))).toBe('require');
    expect(sslmodeOf(e(withConnection(vpn, { host: '127.0.0.1' })))).toBe('disable');
    expect(sslmodeOf(e(withConnection(tls, { sslmode: 'require' })))).toBe('require');
    expect(sslmodeOf(e(withConnection(vpn, { sslmode: 'verify-full' })))).toBe('verify-full');
  });
});

describe('the registry', () => {
  const m = (ibge: string, host: string, extra: object = {}) => ({ ...vpn, ibge, name: `m${ibge}`, connection: { host, password: pw }, ...extra });

  it('lists at least one municipality, each once', () => {
    expect(issue(MunicipalityRegistry, { municipalities: [] })).toBe('municipalities: must list at least one municipality');
    expect(issue(MunicipalityRegistry, { municipalities: [tls, vpn, tls] })).toBe('municipalities.2.ibge: municipality 3509502 is listed twice');
    expect(issue(MunicipalityRegistry, { municipalities: [tls, vpn] })).toBe('accepted');
    expect(ok(MunicipalityRegistry, { municipalities: [tls], extra: 1 })).toBe(false);
  });

  it('one presented address per installation, named with both municipalities and where the first is', () => {
    const list = [m('4106902', '100.64.0.10'), m('4119905', '100.64.0.11'), m('4113700', '100.64.0.10')];
    expect(issue(MunicipalityRegistry, { municipalities: list })).toBe(
      'municipalities.2.connection.host: presented address 100.64.0.10 of municipality 4113700 is already the address of municipality 4106902 (municipalities.0): each VPN installation needs its own address from the reserved range (the same server? give both the same installation)',
    );
  });

  it('the municipalities of one installation share its address and its VPN device', () => {
    const pr = { installation: 'pr' };
    const same = [m('4106902', '100.64.0.10', pr), m('4119905', '100.64.0.10', pr), m('4113700', '100.64.0.10', pr)];
    expect(vpnAddressProblems(same.map((x) => MunicipalityEntry.parse(x)))).toEqual([]);
    const moved = [m('4106902', '100.64.0.10', pr), m('4119905', '100.64.0.10', pr), m('4113700', '100.64.0.12', pr)];
    expect(vpnAddressProblems(moved.map((x) => MunicipalityEntry.parse(x)))).toEqual([
      {
        index: 2,
        field: ['connection', 'host'],
        message: 'installation pr: municipality 4113700 is at 100.64.0.12 but municipality 4106902 (municipalities.0) at 100.64.0.10; one installation is one server',
      },
    ]);
    const otherDevice = [m('4106902', '100.64.0.10', pr), m('4119905', '100.64.0.10', { ...pr, vpn: { ...vpnSettings, peerAsn: 65011 } })];
    expect(vpnAddressProblems(otherDevice.map((x) => MunicipalityEntry.parse(x)))).toEqual([
      {
        index: 1,
        field: ['vpn'],
        message: 'installation pr: municipality 4119905 has other vpn settings than municipality 4106902 (municipalities.0); one installation is reached through one VPN device',
      },
    ]);
    expect(issue(MunicipalityRegistry, { municipalities: otherDevice })).toMatch(/^municipalities\.1\.vpn: installation pr: /);
  });

  it('TLS and loopback sources share addresses freely: they are not routed through the VPN', () => {
    const list = [
      MunicipalityEntry.parse(withConnection(tls, { host: '100.64.0.10' })),
      MunicipalityEntry.parse(m('4106902', '100.64.0.10')),
      MunicipalityEntry.parse({ ...tls, ibge: '4119905', connection: { host: '100.64.0.10', password: pw } }),
      MunicipalityEntry.parse(m('4113700', '127.0.0.1', { vpn: undefined })),
      MunicipalityEntry.parse(m('3550308', '127.0.0.1', { vpn: { ...vpnSettings, peerAsn: 65020 } })),
    ];
    expect(vpnAddressProblems(list)).toEqual([]);
  });
});
