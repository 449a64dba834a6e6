import { ConfigError, ENV, EXTRACT_DEFAULTS } from '../../shared/contracts/config';
import { FUNCTIONS, type FunctionKey } from '../../shared/contracts/functions';
import { bigQueryClientOptions, envNamesOf, FUNCTION_CONFIGS, loadFunctionConfig, localEndpoints } from '../../shared/adapters/gcp/function-config';

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

/** The problems a configuration error lists, or [] when the environment is accepted. */
function problemsOf(parse: () => unknown): string[] {
  try {
    parse();
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

/**
 * Each variable's rule, at its edges: values infra or a person may set that must pass, and near
 * misses that must stop the cold start with the variable's name and the rule in the message (a
 * value refused only at its start, or only at its end, catches an unanchored pattern).
 */
describe('each variable is checked at cold start, by its own rule', () => {
  const cases: { key: FunctionKey; name: string; accepted: string[]; refused: string[]; message: RegExp }[] = [
    {
      key: 'fanOut',
      name: 'GOOGLE_CLOUD_PROJECT',
      accepted: ['pec-pipeline-prod', 'abcdef'],
      refused: ['1pec-pipeline', 'pec-pipeline-', 'abcde'],
      message: /must be a Google Cloud project id/,
    },
    { key: 'fanOut', name: 'PIPELINE_ENV', accepted: ['prod', 'dev-maria'], refused: ['1prod', 'prod_', 'Prod'], message: /must be 1–30 characters/ },
    { key: 'fanOut', name: 'LOG_LEVEL', accepted: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], refused: ['verbose'], message: /fatal.*silent/ },
    {
      key: 'fanOut',
      name: 'STAGING_BUCKET',
      accepted: ['pec-staging-prod', 'a.b_c'],
      refused: ['gs://pec-staging', 'pec-staging/', '-pec'],
      message: /must be a Cloud Storage bucket name/,
    },
    { key: 'fanOut', name: 'MUNICIPALITY_REGISTRY_FILE', accepted: ['registry/municipalities.yaml'], refused: [], message: /./ },
    {
      key: 'fanOut',
      name: 'TOPIC_PREFIX',
      accepted: ['dev-maria.', 'a~b+c%_'],
      refused: ['/dev', 'dev/', 'dev maria'],
      message: /may only contain letters, digits and - _ \. ~ \+ %/,
    },
    { key: 'load', name: 'BQ_RAW_DATASET', accepted: ['raw', 'raw_2026'], refused: ['raw-data', 'raw.'], message: /must be a BigQuery dataset id/ },
    { key: 'load', name: 'BQ_OPS_DATASET', accepted: ['ops_dev'], refused: ['ops-dev'], message: /must be a BigQuery dataset id/ },
    { key: 'load', name: 'BQ_LOCATION', accepted: ['US', 'southamerica-east1'], refused: ['U'], message: /./ },
    {
      key: 'extract',
      name: 'PSEUDONYM_KEY_SECRET',
      accepted: ['pec-pseudonym-key', 'key_2'],
      refused: ['pec key', 'projects/p/secrets/k'],
      message: /must be a Secret Manager secret id/,
    },
  ];

  describe.each(cases)('$name', ({ key, name, accepted, refused, message }) => {
    test.each(accepted)('accepts %j', (value) => {
      expect(problemsOf(() => loadFunctionConfig(key, { ...complete, [name]: value }))).toEqual([]);
    });
    if (refused.length > 0)
      test.each(refused)('refuses %j, naming the variable and its rule', (value) => {
        const problems = problemsOf(() => loadFunctionConfig(key, { ...complete, [name]: value }));
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(new RegExp(`^${name}: `));
        expect(problems[0]).toMatch(message);
      });
  });
});

describe('local endpoints, at their edges', () => {
  const refusedBy = (name: string, value: string) => problemsOf(() => localEndpoints({ [name]: value }));

  test('an empty variable is unset, not a malformed endpoint', () => {
    expect(localEndpoints({ PUBSUB_EMULATOR_HOST: '', STORAGE_EMULATOR_HOST: '', BIGQUERY_EMULATOR_HOST: '', SECRET_MANAGER_EMULATOR_HOST: '' })).toStrictEqual({});
  });

  test('host:port, IPv6 in brackets too; anything after the port is refused', () => {
    expect(localEndpoints({ PUBSUB_EMULATOR_HOST: '[::1]:8681' })).toEqual({ pubsub: '[::1]:8681' });
    expect(refusedBy('PUBSUB_EMULATOR_HOST', '127.0.0.1:8681/x')).toEqual(['PUBSUB_EMULATOR_HOST: must be host:port (no scheme)']);
    expect(refusedBy('PUBSUB_EMULATOR_HOST', '[]:8681')).toEqual(['PUBSUB_EMULATOR_HOST: must be host:port (no scheme)']);
  });

  test('http(s) URLs only, whole', () => {
    expect(localEndpoints({ STORAGE_EMULATOR_HOST: 'https://127.0.0.1:4443' })).toEqual({ storage: 'https://127.0.0.1:4443' });
    for (const bad of ['tcp+http://127.0.0.1:4443', 'http://127.0.0.1:4443 /storage/v1'])
      expect(refusedBy('STORAGE_EMULATOR_HOST', bad)).toEqual(['STORAGE_EMULATOR_HOST: must be an http(s):// URL']);
    expect(refusedBy('BIGQUERY_EMULATOR_HOST', 'http://127.0.0.1:9050/bigquery/v2/projects')).toEqual([
      'BIGQUERY_EMULATOR_HOST: must end with /bigquery/v2 (the client uses it as its base URL)',
    ]);
  });

  test('the BigQuery client goes to a local endpoint by its origin, without Google credentials; in the cloud, untouched', async () => {
    expect(bigQueryClientOptions({}, 'pec-pipeline-prod')).toStrictEqual({});
    const o = bigQueryClientOptions({ bigquery: 'http://127.0.0.1:9050/bigquery/v2' }, 'pec-local') as unknown as {
      apiEndpoint: string;
      authClient: { getRequestHeaders(): Promise<Headers>; getProjectId(): Promise<string> };
    };
    expect(o.apiEndpoint).toBe('http://127.0.0.1:9050');
    expect([...(await o.authClient.getRequestHeaders()).keys()]).toEqual([]);
    expect(await o.authClient.getProjectId()).toBe('pec-local');
  });
});
