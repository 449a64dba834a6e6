import { z } from 'zod';

/**
 * IBGE municipality codes are 7 digits; the last is a check digit over the first six
 * (weights 1,2,1,2,… with digit-sum of each product, then 10 − sum mod 10).
 * A handful of real municipalities were registered with codes that fail the rule;
 * they are accepted explicitly so that a correct registry never gets rejected.
 */
const CODES_THAT_FAIL_THE_RULE = new Set(['2201919', '2201988', '2202251', '2611533', '3117836', '3152131', '4305871', '5203939', '5203962']);

/** The check digit of a code's first six digits (`firstSix` may be the whole 7-digit code: only six are read). */
export function ibgeCheckDigit(firstSix: string): number {
  let sum = 0;
  for (let i = 0; i < 6; i++) {
    const product = Number(firstSix[i]) * (i % 2 === 0 ? 1 : 2);
    sum += product > 9 ? product - 9 : product;
  }
  return (10 - (sum % 10)) % 10;
}

export function isValidIbge(code: string): boolean {
  if (!/^\d{7}$/.test(code)) return false;
  if (CODES_THAT_FAIL_THE_RULE.has(code)) return true;
  return ibgeCheckDigit(code) === Number(code[6]);
}

/** A 7-digit IBGE municipality code with a valid check digit, e.g. "3550308". */
export const IbgeCode = z
  .string()
  .regex(/^\d{7}$/, 'must be a 7-digit IBGE code (e.g. "3550308"); the 6-digit SUS form lacks the check digit')
  .superRefine((code, ctx) => {
    if (/^\d{7}$/.test(code) && !isValidIbge(code)) ctx.addIssue({ code: 'custom', message: `check digit of IBGE code "${code}" is wrong (expected ${ibgeCheckDigit(code)})` });
  });
export type IbgeCode = z.infer<typeof IbgeCode>;
