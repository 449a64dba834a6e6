import { ConfigError } from '../../shared/contracts/config';
import { ENDPOINT_ENV, localEndpoints } from '../../shared/adapters/gcp/function-config';

/** Every Google client can be pointed at a local endpoint, by one variable each, checked at cold start. */
describe('local endpoints (emulators, API doubles)', () => {
  it('none in the cloud: an environment without the variables yields no overrides', () => {
    expect(localEndpoints({ GOOGLE_CLOUD_PROJECT: 'pec-pipeline-prod' })).toEqual({});
  });

  it('reads each client its own variable', () => {
    expect(
      localEndpoints({
        [ENDPOINT_ENV.pubsub]: '127.0.0.1:8681',
        [ENDPOINT_ENV.storage]: 'http://127.0.0.1:4443/storage/v1',
        [ENDPOINT_ENV.bigquery]: 'http://127.0.0.1:9050/bigquery/v2',
        [ENDPOINT_ENV.secretManager]: 'localhost:9090',
      }),
    ).toEqual({ pubsub: '127.0.0.1:8681', storage: 'http://127.0.0.1:4443/storage/v1', bigquery: 'http://127.0.0.1:9050/bigquery/v2', secretManager: 'localhost:9090' });
    // The names the client libraries themselves read: a rename here would silently point them at Google.
    expect(ENDPOINT_ENV).toMatchObject({ pubsub: 'PUBSUB_EMULATOR_HOST', storage: 'STORAGE_EMULATOR_HOST', bigquery: 'BIGQUERY_EMULATOR_HOST' });
  });

  it('a malformed value stops the cold start, naming the variable and the problem', () => {
    let err: unknown;
    try {
      localEndpoints({ [ENDPOINT_ENV.secretManager]: 'http://127.0.0.1:9090', [ENDPOINT_ENV.bigquery]: 'http://127.0.0.1:9050' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.sort()).toEqual([
      'BIGQUERY_EMULATOR_HOST: must end with /bigquery/v2 (the client uses it as its base URL)',
      'SECRET_MANAGER_EMULATOR_HOST: must be host:port (no scheme)',
    ]);
  });
});
