import type { z } from 'zod';

/**
 * One issue's problem in words. zod reports a refused record key as "Invalid key in record" and keeps
 * the key rule's own message in `issues`: that message says what a key must be, so it is the one shown
 * (the path already names the key).
 */
export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues.length > 0) return `key ${issue.issues.map((i) => i.message).join('; ')}`;
  return issue.message;
}

/** Field-by-field description of a contract violation: names the field and the value's problem. */
export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${issueMessage(i)}`).join('; ');
}
