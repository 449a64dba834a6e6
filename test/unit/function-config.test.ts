import { ConfigError, ENV, EXTRACT_DEFAULTS } from '../../shared/contracts/config';
import { FUNCTIONS, type FunctionKey } from '../../shared/contracts/functions';
import { envNamesOf, FUNCTION_CONFIGS, loadFunctionConfig } from '../../shared/adapters/gcp/function-config';

/** Per-function configuration: what infra sets (FUNCTIONS[x].env) is exactly what each function reads. */
const KEYS = Object.keys(FUNCTIONS) as FunctionKey[];

const complete: Record<string, string> = {
  GOOGLE_CLOUD_PROJECT: 'pec-pipeline-prod',
  PIPELINE_ENV: 'prod',
  STAGING_BUCKET: 'pec-staging-prod',
  PSEUDONYM_KEY_SECRET: 'pec-pseudonym-key',
};

describe('function configuration', () => {
  it.each(KEYS)("%s: the schema's keys are exactly FUNCTIONS[%s].env", (key) => {
    expect(Object.keys(FUNCTION_CONFIGS[key].shape).sort()).toEqual([...FUNCTIONS[key].env].sort());
  });

  it.each(KEYS)('%s: parses from a complete environment, with documented defaults', (key) => {
    const config = loadFunctionConfig(key, complete) as Record<string, unknown>;
    expect(config.projectId).toBe('pec-pipeline-prod');
    expect(config.logLevel).toBe('info');
  });

  it('applies the production defaults and coerces numbers', () => {
    const extract = loadFunctionConfig('extract', { ...complete, EXTRACT_TIME_BUDGET_MS: '1000' });
    expect(extract).toMatchObject({ registryFile: 'municipalities.yaml', topicPrefix: '', timeBudgetMs: 1000, partMaxBytes: EXTRACT_DEFAULTS.partMaxBytes, gzipLevel: 1 });
    expect(loadFunctionConfig('load', complete)).toMatchObject({ bqLocation: 'southamerica-east1', rawDataset: 'raw', opsDataset: 'ops' });
    expect(loadFunctionConfig('fanOut', { ...complete, RUN_LOOKBACK_DAYS: '7' }).lookbackDays).toBe(7);
    expect(loadFunctionConfig('runReport', complete)).toMatchObject({ bqLocation: 'southamerica-east1', opsDataset: 'ops', staleSourceHours: 26 });
    expect(loadFunctionConfig('runReport', { ...complete, STALE_SOURCE_HOURS: '48' }).staleSourceHours).toBe(48);
  });

  it('names every missing variable in one error, by its environment name', () => {
    let err: unknown;
    try {
      loadFunctionConfig('extract', {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'GOOGLE_CLOUD_PROJECT: is required but not set',
        'PIPELINE_ENV: is required but not set',
        'STAGING_BUCKET: is required but not set',
        'PSEUDONYM_KEY_SECRET: is required but not set',
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it('names invalid values together with missing ones, and ignores variables of other functions', () => {
    let err: ConfigError | undefined;
    try {
      loadFunctionConfig('extract', { ...complete, STAGING_BUCKET: 'gs://pec-staging', EXTRACT_GZIP_LEVEL: '11', PIPELINE_ENV: '', BQ_RAW_DATASET: 'not used here!' });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err!.message).toMatch(/STAGING_BUCKET: must be a Cloud Storage bucket name/);
    expect(err!.message).toMatch(/EXTRACT_GZIP_LEVEL: /);
    expect(err!.message).toMatch(/PIPELINE_ENV: is required but not set/);
    expect(err!.message).not.toMatch(/BQ_RAW_DATASET/);
  });

  it('exports the environment variable names infra sets, from the shared ENV table', () => {
    expect(envNamesOf('load')).toEqual(FUNCTIONS.load.env.map((k) => ENV[k]));
    expect(envNamesOf('runStatus')).not.toContain('BQ_OPS_DATASET');
  });
});
