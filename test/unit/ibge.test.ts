import { IbgeCode, isValidIbge } from '../../shared/contracts/ibge';

describe('IBGE code', () => {
  it.each(['3550308', '3304557', '3541307', '5300108', '2201919'])('accepts %s', (code) => {
    expect(isValidIbge(code)).toBe(true);
  });
  it('names the expected check digit when it is wrong', () => {
    const r = IbgeCode.safeParse('3550307');
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/check digit .*3550307.*expected 8/);
  });
  it('explains the 6-digit SUS form', () => {
    expect(IbgeCode.safeParse('355030').error!.issues[0]!.message).toMatch(/7-digit/);
  });
});
