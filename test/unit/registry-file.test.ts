import path from 'node:path';
import { MunicipalityEntry, MunicipalityRegistry, sslmodeOf } from '../../shared/contracts/municipalities';
import { loadRegistryFile } from '../../shared/run/registry-file';

const fixture = (name: string) => path.join(__dirname, '..', 'fixtures', 'registry', name);

describe('municipality registry file', () => {
  it('reads a valid registry and fills the PEC defaults', () => {
    const r = loadRegistryFile(fixture('valid.yaml'));
    expect(r.municipalities.map((m) => m.ibge)).toEqual(['3509502', '4106902', '4119905']);
    const campinas = r.municipalities[0]!;
    expect(campinas.connection).toMatchObject({ port: 5433, database: 'esus', user: 'esus_leitura' });
    expect(r.municipalities[2]!.enabled).toBe(false);
  });
  it('TLS inside the tunnel unless the registry says why not; none only to a loopback source', () => {
    const [campinas, curitiba] = loadRegistryFile(fixture('valid.yaml')).municipalities;
    expect(sslmodeOf(campinas!)).toBe('verify-full');
    expect(sslmodeOf(curitiba!)).toBe('require');
    const base = { ibge: '4106902', name: 'Curitiba', network: 'vpn', vpn: { peerIps: ['203.0.113.10'], peerAsn: 65010 } } as const;
    const off = MunicipalityEntry.parse({
      ...base,
      connection: { host: '100.64.0.10', sslmode: 'disable', sslmodeReason: 'PEC 4.2 without OpenSSL; upgrade booked', password: { env: 'X' } },
    });
    expect(sslmodeOf(off)).toBe('disable');
    expect(sslmodeOf(MunicipalityEntry.parse({ ...base, connection: { host: '127.0.0.1', password: { env: 'X' } } }))).toBe('disable');
    expect(() =>
      MunicipalityEntry.parse({ ...base, connection: { host: '100.64.0.10', sslmode: 'require', sslmodeReason: 'not needed at all here', password: { env: 'X' } } }),
    ).toThrow(/explains sslmode .{1,3}disable.{1,3} only/);
  });
  it('the same presented address is allowed to the municipalities of one installation only', () => {
    const m = (ibge: string, installation?: string) => ({
      ibge,
      name: `m${ibge}`,
      network: 'vpn',
      vpn: { peerIps: ['203.0.113.10'], peerAsn: 65010 },
      installation,
      connection: { host: '100.64.0.10', password: { env: 'X' } },
    });
    expect(() => MunicipalityRegistry.parse({ municipalities: [m('4106902', 'pr'), m('4119905', 'pr')] })).not.toThrow();
    expect(() => MunicipalityRegistry.parse({ municipalities: [m('4106902'), m('4119905')] })).toThrow(/municipality 4119905 is already the address of municipality 4106902/);
  });
  it.each([
    ['bad-check-digit.yaml', /municipalities\.0\.ibge: check digit of IBGE code "3509501" is wrong \(expected 2\)/],
    ['password-inline.yaml', /municipalities\.0\.connection\.password/],
    ['vpn-without-peer.yaml', /municipalities\.0\.vpn: network "vpn" needs vpn\.peerIps and vpn\.peerAsn/],
    ['duplicate.json', /municipalities\.1\.ibge: municipality 3509502 is listed twice/],
    [
      'vpn-overlap.yaml',
      /vpn-overlap\.yaml is invalid: municipalities\.2\.connection\.host: presented address 100\.64\.0\.10 of municipality 4119905 is already the address of municipality 4106902 \(municipalities\.0\)/,
    ],
    ['vpn-tls-off-without-reason.yaml', /municipalities\.0\.connection\.sslmodeReason: sslmode "disable" over a VPN needs connection\.sslmodeReason/],
    ['vpn-hostname.yaml', /municipalities\.0\.connection\.host: network "vpn" needs the IPv4 address the municipal VPN device presents/],
    ['not-yaml.yaml', /is not valid YAML/],
    ['missing.yaml', /cannot be read/],
  ])('%s is refused with the field and the problem', (file, message) => {
    expect(() => loadRegistryFile(fixture(file))).toThrow(message);
  });
});
