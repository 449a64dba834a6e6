import type { z } from 'zod';

/** Field-by-field description of a contract violation: names the field and the value's problem. */
export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${i.message}`).join('; ');
}
