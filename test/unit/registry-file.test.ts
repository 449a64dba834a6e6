import path from 'node:path';
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
  it.each([
    ['bad-check-digit.yaml', /municipalities\.0\.ibge: check digit of IBGE code "3509501" is wrong \(expected 2\)/],
    ['password-inline.yaml', /municipalities\.0\.connection\.password/],
    ['vpn-without-peer.yaml', /municipalities\.0\.vpn: network "vpn" needs vpn\.peerIps and vpn\.peerAsn/],
    ['duplicate.json', /municipalities\.1\.ibge: municipality 3509502 is listed twice/],
    ['not-yaml.yaml', /is not valid YAML/],
    ['missing.yaml', /cannot be read/],
  ])('%s is refused with the field and the problem', (file, message) => {
    expect(() => loadRegistryFile(fixture(file))).toThrow(message);
  });
});
