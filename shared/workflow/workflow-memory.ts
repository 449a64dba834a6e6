/**
 * Cloud Workflows' memory accounting for variables (Google's "Memory usage" rule in the workflows
 * syntax reference): integer, double, boolean 8 bytes; string 8 bytes + its bytes; array 8 bytes +
 * each element; map 8 bytes + each key + each value, recursively. An execution may hold 512 KB.
 * `null` is not listed: counted as 8 bytes, like a scalar.
 */
export function workflowsVariableBytes(v: unknown): number {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return 8;
  if (typeof v === 'string') return 8 + Buffer.byteLength(v);
  if (Array.isArray(v)) return 8 + v.reduce<number>((n, e) => n + workflowsVariableBytes(e), 0);
  return 8 + Object.entries(v as Record<string, unknown>).reduce((n, [k, e]) => n + workflowsVariableBytes(k) + workflowsVariableBytes(e), 0);
}
