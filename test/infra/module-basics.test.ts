import { enableApis, REQUIRED_APIS } from '../../infra-cdktf/modules/apis';
import { DEAD_LETTER_RETENTION, topics } from '../../infra-cdktf/modules/pubsub';
import { secrets, vpnPreSharedKey } from '../../infra-cdktf/modules/secrets';
import { buckets } from '../../infra-cdktf/modules/storage';
import { TOPICS, type TopicKey } from '../../shared/contracts/messages';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { synthModule } from './support/module-stack';
import { resources } from './support/synth';

/**
 * The small modules on their own (storage, secrets, Pub/Sub topics, APIs), each synthesized inside
 * its test (support/module-stack.ts says why): every value they set, written out here.
 */

describe('storage module', () => {
  test('two private buckets in São Paulo; staging objects deleted after the configured days, no soft delete; sources kept', () => {
    const { json, config, out } = synthModule((ctx) => buckets(ctx));
    // What the other modules are handed.
    expect([out.staging.node.id, out.sources.node.id]).toEqual(['bucket-staging', 'bucket-sources']);
    const shared = {
      project: config.projectId,
      location: 'SOUTHAMERICA-EAST1',
      storage_class: 'STANDARD',
      uniform_bucket_level_access: true,
      public_access_prevention: 'enforced',
      force_destroy: false,
      versioning: { enabled: false },
    };
    expect(config.stagingRetentionDays).toBe(7);
    expect(json.resource.google_storage_bucket).toEqual({
      'bucket-staging': {
        ...shared,
        name: 'pec-pipeline-dev-pec-staging',
        lifecycle_rule: [{ action: { type: 'Delete' }, condition: { age: 7 } }],
        soft_delete_policy: { retention_duration_seconds: 0 },
      },
      'bucket-sources': { ...shared, name: 'pec-pipeline-dev-pec-sources' },
    });
  });
});

describe('secrets module', () => {
  test('the pseudonym key and one password secret per municipality whose password is a secret, replicated in the region only', () => {
    const { json, config, registry } = synthModule((ctx) => secrets(ctx));
    const secret = (secretId: string, purpose: string) => ({
      project: config.projectId,
      secret_id: secretId,
      labels: { purpose },
      replication: { user_managed: { replicas: [{ location: 'southamerica-east1' }] } },
    });
    expect(json.resource.google_secret_manager_secret).toEqual({
      'secret-pseudonym-key': secret('pec-pseudonym-key', 'pseudonym-key'),
      ...Object.fromEntries(registry.municipalities.map((m) => [`secret-db-password-${m.ibge}`, secret(`pec-db-password-${m.ibge}`, 'db-password')])),
    });
    expect(resources(json, 'google_secret_manager_secret_version')).toEqual([]);
  });

  test('a password from an environment variable gets no secret (the stack refuses it before; the module only skips it)', () => {
    const { registry: dev } = synthModule(() => undefined);
    const registry = MunicipalityRegistry.parse({
      municipalities: dev.municipalities.map((m) => (m.ibge === '3548500' ? { ...m, connection: { ...m.connection, password: { env: 'PGPASSWORD' } } } : m)),
    });
    const { json, out } = synthModule((ctx) => secrets(ctx), { registry });
    expect([...out.dbPasswords.keys()].sort()).toEqual(['3509502', '4106902']);
    expect(Object.keys(json.resource.google_secret_manager_secret!).sort()).toEqual(['secret-db-password-3509502', 'secret-db-password-4106902', 'secret-pseudonym-key']);
  });

  test('a VPN pre-shared key is read by reference (a data source), never written', () => {
    const { json, config } = synthModule((ctx) => vpnPreSharedKey(ctx, 'site-1'));
    expect(json.data!.google_secret_manager_secret_version).toEqual({ 'vpn-psk-site-1': { project: config.projectId, secret: 'vpn-psk-site-1' } });
    expect(json.resource).toBeUndefined();
  });
});

describe('pubsub module', () => {
  test('one topic per TOPICS entry, stored in the region; the dead-letter hold; Pub/Sub’s agent may publish dead letters', () => {
    const { json, config, out } = synthModule((ctx) => topics(ctx));
    // What the other modules are handed.
    expect(Object.keys(out.topics)).toEqual(Object.keys(TOPICS));
    expect(out.deadLetterHold.node.id).toBe('subscription-dead-letter-hold');
    expect(out.pubsubAgent).toMatch(/^serviceAccount:service-\$\{TfToken\[TOKEN\.\d+\]\}@gcp-sa-pubsub\.iam\.gserviceaccount\.com$/);
    const keys = Object.keys(TOPICS) as TopicKey[];
    expect(json.resource.google_pubsub_topic).toEqual(
      Object.fromEntries(
        keys.map((k) => [
          `topic-${TOPICS[k]}`,
          { project: config.projectId, name: `dev-${TOPICS[k]}`, message_storage_policy: { allowed_persistence_regions: ['southamerica-east1'] } },
        ]),
      ),
    );
    expect(DEAD_LETTER_RETENTION).toBe('604800s');
    expect(json.resource.google_pubsub_subscription).toEqual({
      'subscription-dead-letter-hold': {
        project: config.projectId,
        name: `dev-${TOPICS.deadLetter}-hold`,
        topic: `\${google_pubsub_topic.topic-${TOPICS.deadLetter}.id}`,
        ack_deadline_seconds: 60,
        message_retention_duration: '604800s',
        retain_acked_messages: false,
        expiration_policy: { ttl: '' },
      },
    });
    const agent = 'serviceAccount:service-${data.google_project.project.number}@gcp-sa-pubsub.iam.gserviceaccount.com';
    expect(Object.values(json.resource.google_pubsub_topic_iam_member!)).toEqual([
      { project: config.projectId, topic: `\${google_pubsub_topic.topic-${TOPICS.deadLetter}.name}`, role: 'roles/pubsub.publisher', member: agent },
    ]);
  });
});

describe('apis module', () => {
  test('every required API enabled and left on at destroy; every other resource waits for them, data sources and the APIs themselves do not', () => {
    const { json, config } = synthModule((ctx) => {
      enableApis(ctx);
      buckets(ctx);
    });
    expect(REQUIRED_APIS).toHaveLength(19);
    expect(json.resource.google_project_service).toEqual(
      Object.fromEntries(
        REQUIRED_APIS.map((service) => [`api-${service.split('.')[0]}`, { project: config.projectId, service, disable_on_destroy: false, disable_dependent_services: false }]),
      ),
    );
    expect(json.resource.terraform_data).toEqual({
      'apis-ready': { input: { apis: [...REQUIRED_APIS] }, depends_on: REQUIRED_APIS.map((s) => `google_project_service.api-${s.split('.')[0]}`) },
    });
    for (const [, b] of resources(json, 'google_storage_bucket')) expect(b.depends_on).toEqual(['terraform_data.apis-ready']);
    expect(json.data!.google_project!.project!.depends_on).toBeUndefined();
  });
});
