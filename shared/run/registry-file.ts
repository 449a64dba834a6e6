import fs from 'node:fs';
import YAML from 'yaml';
import { MunicipalityRegistry } from '../contracts/municipalities';
import { formatIssues } from '../contracts/issues';

/**
 * Reads and validates a municipality registry file (YAML or JSON); errors name file, field and problem.
 * Shared by the local runtime and the cloud functions, which ship the file inside their bundle
 * (MUNICIPALITY_REGISTRY_FILE) and read it once at cold start.
 */
export function loadRegistryFile(file: string): MunicipalityRegistry {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`registry file ${file} cannot be read`);
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new Error(`registry file ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message}`, { cause: err });
  }
  const r = MunicipalityRegistry.safeParse(data);
  if (!r.success) throw new Error(`registry file ${file} is invalid: ${formatIssues(r.error)}`);
  return r.data;
}
