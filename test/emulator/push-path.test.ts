import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { stringify } from 'yaml';
import { seedPec } from '../../scripts/synthetic-pec/generate';
import { UFS } from '../../scripts/synthetic-pec/vocab';
import { ENDPOINT_ENV, FUNCTION_CONFIGS } from '../../shared/adapters/gcp/function-config';
import { ENV } from '../../shared/contracts/config';
import { FUNCTIONS, type FunctionKey } from '../../shared/contracts/functions';
import { Manifest } from '../../shared/contracts/manifest';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { TOPICS, type TopicKey } from '../../shared/contracts/messages';
import { PUBSUB_DEAD_LETTER_ATTRIBUTES } from '../../shared/contracts/pubsub';
import { layout } from '../../shared/records/layout';
import { LoadRecord, PlanRecord } from '../../shared/records/run-records';
import { findLeaks, personalDataOf, secretsOf } from '../faults/support/harness';
import { resources, synthEnvironment, type TfJson } from '../infra/support/synth';
import { TEST_KEY } from '../support/local-pipeline';
import { startFakeBigQueryServer, type FakeBigQueryServer } from '../support/fake-bigquery-server';
import { startFakeGcsServer, type FakeGcsServer } from '../support/fake-gcs-server';
import { createTestDatabase, testServerPort, type TestDatabase } from '../support/pg';
import { playBigQueryFromGcs } from './support/bigquery-from-gcs';
import { startFakeSecretManager, type FakeSecretManager } from './support/fake-secret-manager-server';
import { missingTools, REPO_ROOT, serveFunction, startPubSubEmulator, type Emulator, type FunctionServer } from './support/processes';

/**
 * The push path as deployed, end to end on real processes: the function bundles built by
 * `npm run build:functions`, each served by `npx functions-framework`; Google's Pub/Sub emulator
 * pushing to them through subscriptions with the dead-letter and retry settings of the synthesized
 * stack (read from infra-cdktf's own output, not repeated here); the README's
 * `gcloud pubsub topics publish` rerun line run as written against the emulator; a real PostgreSQL
 * source (jest's global setup); local stand-ins for Cloud Storage, BigQuery and Secret Manager that
 * check the requests the real client libraries make. Loopback only; every wait is bounded.
 */

const MISSING = missingTools();
const CI = process.env.CI === 'true';
if (MISSING && !CI)
  console.warn(
    `\n${'!'.repeat(100)}\n!! SKIPPED: emulator tier (test/emulator): ${MISSING}.\n!! Install the Google Cloud CLI with its pubsub-emulator component and Java 17 to run it (CI has them).\n${'!'.repeat(100)}\n`,
  );

const PROJECT = 'pec-emulator-tier';
const BUCKET = 'pec-staging-emulator';
const KEY_SECRET = 'pec-pseudonym-key';
const PASSWORD_ENV = 'PEC_DB_PASSWORD';
const PUBSUB_FUNCTIONS = (Object.keys(FUNCTIONS) as FunctionKey[]).filter((k) => FUNCTIONS[k].trigger.kind === 'pubsub');
const SETUP_MS = 240_000;
const FLOW_MS = 180_000;

/** One push subscription of the synthesized stack, as infra-cdktf writes it. */
interface StackSubscription {
  fn: FunctionKey;
  topic: TopicKey;
  name: string;
  ackDeadlineSeconds: number;
  retry: { minimumBackoff: string; maximumBackoff: string };
  maxDeliveryAttempts: number;
  deadLetterTopic: TopicKey;
}

const topicKeyOfResource = (json: TfJson, ref: string): TopicKey => {
  const id = /^\$\{google_pubsub_topic\.([^.]+)\.(?:id|name)\}$/.exec(ref)?.[1];
  const name = id ? (json.resource.google_pubsub_topic?.[id]?.name as string | undefined) : undefined;
  const key = (Object.keys(TOPICS) as TopicKey[]).find((k) => name?.endsWith(TOPICS[k]));
  if (!key) throw new Error(`cannot map ${ref} to a topic of shared/contracts/messages.ts`);
  return key;
};

/** The push subscriptions (and the dead-letter hold) of the dev stack, read from its synthesized JSON. */
function stackSubscriptions(): { push: StackSubscription[]; deadLetterHold: { name: string } } {
  const { json } = synthEnvironment('dev');
  const push: StackSubscription[] = [];
  let deadLetterHold: { name: string } | undefined;
  for (const [, b] of resources(json, 'google_pubsub_subscription')) {
    const topic = topicKeyOfResource(json, b.topic);
    if (!b.push_config) {
      if (topic === 'deadLetter') deadLetterHold = { name: b.name };
      continue;
    }
    const fnName = /google_cloudfunctions2_function\.function-([a-z-]+)\./.exec(b.push_config.push_endpoint)?.[1];
    const fn = (Object.keys(FUNCTIONS) as FunctionKey[]).find((k) => FUNCTIONS[k].name === fnName);
    if (!fn) throw new Error(`push subscription ${b.name} targets no known function (${b.push_config.push_endpoint})`);
    push.push({
      fn,
      topic,
      name: b.name,
      ackDeadlineSeconds: b.ack_deadline_seconds,
      retry: { minimumBackoff: b.retry_policy.minimum_backoff, maximumBackoff: b.retry_policy.maximum_backoff },
      maxDeliveryAttempts: b.dead_letter_policy.max_delivery_attempts,
      deadLetterTopic: topicKeyOfResource(json, b.dead_letter_policy.dead_letter_topic),
    });
  }
  if (!deadLetterHold) throw new Error('the stack has no pull subscription on the dead-letter topic');
  return { push, deadLetterHold };
}

/** The README's rerun line for the cloud: `gcloud pubsub topics publish <prefix>pec-run-requests --message='…'`. */
function readmeRerunLine(): string {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const lines = readme.split('\n').filter((l) => /^gcloud pubsub topics publish \S*pec-run-requests\b/.test(l.trim()));
  if (lines.length !== 1) throw new Error(`README.md should hold exactly one "gcloud pubsub topics publish …pec-run-requests" line, found ${lines.length}`);
  return lines[0]!.trim();
}

const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1] ?? NaN);

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs / 1000} s:\n${out.slice(-2000)}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs: number, diagnostics: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${diagnostics()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const describeTier = MISSING ? describe.skip : describe;

describeTier("push path on Google's Pub/Sub emulator, built bundles served by the functions framework", () => {
  const prefix = `e${randomBytes(3).toString('hex')}-`;
  const topicId = (k: TopicKey) => `${prefix}${TOPICS[k]}`;
  let emulator: Emulator;
  let pubsub: PubSub;
  let gcs: FakeGcsServer;
  let bq: FakeBigQueryServer;
  let secrets: FakeSecretManager;
  let db: TestDatabase;
  let stack: ReturnType<typeof stackSubscriptions>;
  let bundles: string;
  let gcloudConfig: string;
  let hold: Subscription | undefined;
  const servers = new Map<FunctionKey, FunctionServer>();
  const deadLetters: Message[] = [];
  let rerunLine: string;
  let rerunMunicipalities: string[];
  // The transient fault: every upload under this run's prefix arrives corrupted (CRC32C mismatch).
  const TRANSIENT_RUN = 'daily-20261101';
  let transientPublishedAt = 0;
  let transientMessageId = '';

  const logsOf = (fn: FunctionKey) =>
    (servers.get(fn)?.lines ?? []).flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const diagnostics = () =>
    [...servers.entries()].map(([k, s]) => `--- ${k} (last lines)\n${s.lines.slice(-15).join('\n')}`).join('\n') +
    `\n--- dead letters: ${JSON.stringify(deadLetters.map((m) => m.attributes))}\n--- bucket: ${[...gcs.objects(BUCKET).keys()].slice(0, 40).join(', ')}`;

  beforeAll(async () => {
    rerunLine = readmeRerunLine();
    rerunMunicipalities = JSON.parse(/--message='([^']*)'/.exec(rerunLine)?.[1] ?? '{}').municipalities ?? [];
    if (rerunMunicipalities.length === 0) throw new Error(`the README's rerun line names no municipality: ${rerunLine}`);

    // The bundles are built, the source seeded and the emulator started side by side.
    // Built inside the repository so npx and the bundles' external (the functions framework) resolve from its node_modules.
    bundles = path.join(REPO_ROOT, 'dist', `emulator-${prefix.slice(0, -1)}`);
    const build = run('npx', ['tsx', 'scripts/build-functions.ts', '--no-measure', '--out', bundles], process.env, 150_000);
    // A source holding the README's municipalities, with data up to today (a rerun's window ends today).
    const today = new Date().toISOString().slice(0, 10);
    const seedMunicipalities = rerunMunicipalities.map((ibge) => ({ ibge, name: `Município ${ibge}`, uf: UFS.find((u) => u.code === ibge.slice(0, 2))!.sg }));
    const seeded = createTestDatabase('emu_push', (c) =>
      seedPec(c, { seed: 11, municipalities: seedMunicipalities, citizens: 120, months: 2, endDate: today, dwProcessedAt: new Date(Date.now() - 3_600_000) }).then(() => {}),
    );
    const started = startPubSubEmulator();
    // Synchronous (CPU in this process) while the others run in theirs.
    stack = stackSubscriptions();
    // Settled, not all: a failure must not leave the build writing into a folder afterAll removes.
    const [b, d, e] = await Promise.allSettled([build, seeded, started]);
    if (d.status === 'fulfilled') db = d.value;
    if (e.status === 'fulfilled') emulator = e.value;
    for (const r of [b, d, e]) if (r.status === 'rejected') throw r.reason;
    const built = (b as PromiseFulfilledResult<{ code: number | null; out: string }>).value;
    if (built.code !== 0) throw new Error(`npm run build:functions failed:\n${built.out}`);

    const registry = MunicipalityRegistry.parse({
      municipalities: rerunMunicipalities.map((ibge) => ({
        ibge,
        name: `Município ${ibge}`,
        network: 'vpn',
        connection: { host: '127.0.0.1', port: testServerPort(), database: db.name, user: db.readerRole, password: { env: PASSWORD_ENV } },
      })),
    });
    // Shipped next to the code of the functions that read it, under the configuration's default
    // name, as infra-cdktf's synth does for a deployment (build-functions --registry does the same).
    for (const k of PUBSUB_FUNCTIONS)
      if ((FUNCTIONS[k].env as readonly string[]).includes('registryFile'))
        fs.writeFileSync(path.join(bundles, FUNCTIONS[k].name, FUNCTION_CONFIGS.fanOut.shape.registryFile.parse(undefined)), stringify(registry));
    gcloudConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'emulator-tier-'));

    [gcs, bq, secrets] = await Promise.all([startFakeGcsServer(), startFakeBigQueryServer(), startFakeSecretManager()]);
    playBigQueryFromGcs(bq, gcs);
    gcs.corruptUploadsOf = (bucket, name) => bucket === BUCKET && name.startsWith(`runs/${TRANSIENT_RUN}/`);
    secrets.put(PROJECT, KEY_SECRET, TEST_KEY.toString('base64'));

    process.env.PUBSUB_EMULATOR_HOST = emulator.host;
    process.env.METADATA_SERVER_DETECTION = 'none';
    pubsub = new PubSub({ projectId: PROJECT });
    for (const k of Object.keys(TOPICS) as TopicKey[]) await pubsub.createTopic(topicId(k));
    [hold] = await pubsub.topic(topicId('deadLetter')).createSubscription(`${prefix}${stack.deadLetterHold.name}`);
    hold!.on('message', (m: Message) => {
      m.ack();
      deadLetters.push(m);
    });

    const env: Record<string, string> = {
      [ENV.projectId]: PROJECT,
      [ENV.environment]: 'emulator',
      [ENV.stagingBucket]: BUCKET,
      [ENV.topicPrefix]: prefix,
      [ENV.pseudonymKeySecret]: KEY_SECRET,
      [ENDPOINT_ENV.pubsub]: emulator.host,
      [ENDPOINT_ENV.storage]: `${gcs.url}/storage/v1`,
      [ENDPOINT_ENV.bigquery]: `${bq.url}/bigquery/v2`,
      [ENDPOINT_ENV.secretManager]: secrets.host,
      [PASSWORD_ENV]: db.readerPassword,
    };
    await Promise.all(
      PUBSUB_FUNCTIONS.map(async (k) => {
        const spec = FUNCTIONS[k];
        // Each function gets only the variables it declares (FUNCTIONS[k].env), as infra sets them, plus the endpoints.
        const own = Object.fromEntries(Object.entries(env).filter(([name]) => !Object.values(ENV).includes(name as never) || spec.env.some((e) => ENV[e] === name)));
        servers.set(k, await serveFunction(path.join(bundles, spec.name), spec.entryPoint, own));
      }),
    );
    for (const s of stack.push) {
      const fn = servers.get(s.fn)!;
      await pubsub.topic(topicId(s.topic)).createSubscription(`${prefix}${s.name}`, {
        pushConfig: { pushEndpoint: `${fn.url}/projects/${PROJECT}/topics/${topicId(s.topic)}` },
        ackDeadlineSeconds: s.ackDeadlineSeconds,
        retryPolicy: { minimumBackoff: { seconds: seconds(s.retry.minimumBackoff) }, maximumBackoff: { seconds: seconds(s.retry.maximumBackoff) } },
        deadLetterPolicy: { deadLetterTopic: pubsub.topic(topicId(s.deadLetterTopic)).name, maxDeliveryAttempts: s.maxDeliveryAttempts },
      });
    }

    // The slow scenario starts first: its redeliveries run while the others are checked.
    transientPublishedAt = Date.now();
    transientMessageId = await pubsub
      .topic(topicId('runRequests'))
      .publishMessage({ json: { trigger: 'daily', runDate: '2026-11-01', dispatch: 'caller' }, attributes: { scenario: 'transient' } });
  }, SETUP_MS);

  afterAll(async () => {
    await hold?.close();
    await pubsub?.close();
    await Promise.all([...servers.values()].map((s) => s.stop()));
    await emulator?.stop();
    await Promise.all([gcs?.close(), bq?.close(), secrets?.close()]);
    await db?.drop();
    if (bundles) fs.rmSync(bundles, { recursive: true, force: true });
    if (gcloudConfig) fs.rmSync(gcloudConfig, { recursive: true, force: true });
  }, 60_000);

  it("the subscriptions are the stack's: every Pub/Sub-triggered function has one, with a dead-letter policy and retry backoff", () => {
    expect(stack.push.map((s) => s.fn).sort()).toEqual([...PUBSUB_FUNCTIONS].sort());
    for (const s of stack.push) {
      expect(s.deadLetterTopic).toBe('deadLetter');
      expect(s.maxDeliveryAttempts).toBeGreaterThanOrEqual(5);
      expect(seconds(s.retry.minimumBackoff)).toBeGreaterThanOrEqual(10);
    }
  });

  it(
    "the README's gcloud rerun line, run as written: fan-out → extract → staged files → load",
    async () => {
      const token = path.join(gcloudConfig, 'token');
      fs.writeFileSync(token, 'emulator-needs-no-token\n');
      // `<prefix>` is the README's placeholder; a line written with $TOPIC_PREFIX / $GOOGLE_CLOUD_PROJECT runs as is.
      const line = rerunLine.replaceAll('<prefix>', prefix);
      const published = await run(
        'bash',
        ['-c', line],
        {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          [ENV.topicPrefix]: prefix,
          [ENV.projectId]: PROJECT,
          CLOUDSDK_CONFIG: path.join(gcloudConfig, 'gcloud'),
          CLOUDSDK_CORE_PROJECT: PROJECT,
          CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
          CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: token,
          CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB: `http://${emulator.host}/`,
        },
        60_000,
      );
      expect(published).toMatchObject({ code: 0, out: expect.stringMatching(/messageIds:\s*- '\d+'/) });

      const objects = gcs.objects(BUCKET);
      // The run id is derived from the message id (rerun-<date>-<hash>): find the run by its plan.
      const planKey = await until("the rerun's plan", () => [...objects.keys()].find((k) => /^runs\/rerun-\d{8}-[0-9a-f]{8}\/plan\.json$/.test(k)), FLOW_MS, diagnostics);
      const plan = PlanRecord.parse(JSON.parse(objects.get(planKey)!.data.toString()));
      expect(plan.municipalities).toEqual(rerunMunicipalities);
      const runId = plan.runId;
      const loadKey = await until('the load record', () => [...objects.keys()].find((k) => k.startsWith(layout.loadsPrefix(runId))), FLOW_MS, diagnostics);
      const load = LoadRecord.parse(JSON.parse(objects.get(loadKey)!.data.toString()));

      const loadJobs = [...bq.jobs.values()].filter((j) => j.configuration.load);
      let stagedTables = 0;
      for (const ibge of rerunMunicipalities) {
        const manifest = Manifest.parse(JSON.parse(objects.get(layout.manifest(runId, ibge))!.data.toString()));
        const staged = manifest.tables.filter((t) => t.parts.length > 0);
        expect(staged.length).toBeGreaterThan(0);
        stagedTables += staged.length;
        for (const t of staged) {
          // Every part the manifest names is in the bucket, and one load job took exactly those files.
          for (const p of t.parts) expect(objects.has(p.key)).toBe(true);
          const uris = t.parts.map((p) => `gs://${BUCKET}/${p.key}`).sort();
          const job = loadJobs.find((j) => j.configuration.load!.sourceUris.some((u) => uris.includes(u)));
          expect(job).toBeDefined();
          expect(job!.configuration.load!.sourceUris.filter((u) => u.includes(`/${ibge}-`)).sort()).toEqual(uris);
        }
        // The load's outcome for every staged table: loaded, with the rows the manifest declared.
        const outcomes = load.outcomes.filter((o) => o.municipality === ibge);
        for (const t of staged) expect(outcomes.find((o) => o.table === t.table)).toMatchObject({ status: 'loaded', rowsInserted: t.rows });
        expect(outcomes.every((o) => o.status === 'loaded')).toBe(true);
      }
      // Each load job staged what its files really hold (the double counts the CSV records; the
      // warehouse adapter refuses a count that differs from the manifests), one job per table.
      expect(loadJobs.every((j) => j.outcome.error === undefined && (j.outcome.outputRows ?? 0) > 0)).toBe(true);
      expect(loadJobs).toHaveLength(stagedTables);
      // The pseudonymisation key came from the Secret Manager endpoint, and no message of this run was dead-lettered.
      expect(secrets.requests).toContain(`projects/${PROJECT}/secrets/${KEY_SECRET}/versions/latest`);
      expect(deadLetters.filter((m) => m.attributes.runId === runId)).toEqual([]);
      expect(logsOf('fanOut').some((l) => l.message === 'run fanned out' && l.run === runId)).toBe(true);
    },
    FLOW_MS * 2 + 60_000,
  );

  it('a malformed message and an attributes-only message: acknowledged (not redelivered) and dead-lettered with the reason', async () => {
    const topic = pubsub.topic(topicId('runRequests'));
    const notJson = await topic.publishMessage({ data: Buffer.from('{"trigger":'), attributes: { scenario: 'malformed' } });
    const noData = await topic.publishMessage({ attributes: { scenario: 'attributes-only' } });
    const byId = (id: string) => () => deadLetters.find((m) => m.attributes.originalMessageId === id);
    const dl1 = await until("the malformed message's dead letter", byId(notJson), 60_000, diagnostics);
    const dl2 = await until("the attributes-only message's dead letter", byId(noData), 60_000, diagnostics);
    expect(dl1.attributes).toMatchObject({ scenario: 'malformed', errorClass: 'invalid_message', sourceHandler: 'fan-out', errorMessage: expect.stringMatching(/not JSON/) });
    expect(dl1.data.toString()).toBe('{"trigger":');
    expect(dl2.attributes).toMatchObject({
      scenario: 'attributes-only',
      errorClass: 'invalid_message',
      sourceHandler: 'fan-out',
      errorMessage: 'message has no data (attributes only: scenario)',
    });
    // Parked by the handler, not by Pub/Sub: no redelivery, so none of Pub/Sub's dead-letter attributes.
    expect(dl2.attributes[PUBSUB_DEAD_LETTER_ATTRIBUTES.deliveryCount]).toBeUndefined();
    // The emulator redelivers a failed push within about a second: wait longer, then count deliveries.
    await new Promise((r) => setTimeout(r, 3_000));
    for (const id of [notJson, noData]) expect(logsOf('fanOut').filter((l) => l.messageId === id && l.severity === 'ERROR')).toHaveLength(1);
  }, 90_000);

  it(
    "a transient failure is redelivered, then dead-lettered by Pub/Sub after the stack's maximum attempts, with Google's attributes",
    async () => {
      const sub = stack.push.find((s) => s.fn === 'fanOut')!;
      const dl = await until(
        `the transient message's dead letter (≤ ${sub.maxDeliveryAttempts} deliveries)`,
        () => deadLetters.find((m) => m.attributes.scenario === 'transient'),
        FLOW_MS,
        diagnostics,
      );
      expect(dl.attributes).toEqual({
        scenario: 'transient',
        [PUBSUB_DEAD_LETTER_ATTRIBUTES.deliveryCount]: String(sub.maxDeliveryAttempts),
        [PUBSUB_DEAD_LETTER_ATTRIBUTES.subscription]: `${prefix}${sub.name}`,
        [PUBSUB_DEAD_LETTER_ATTRIBUTES.subscriptionProject]: PROJECT,
        [PUBSUB_DEAD_LETTER_ATTRIBUTES.topicPublishTime]: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      // The names, spelled out once: the README and the local bus must use these.
      expect(Object.values(PUBSUB_DEAD_LETTER_ATTRIBUTES).sort()).toEqual([
        'CloudPubSubDeadLetterSourceDeliveryCount',
        'CloudPubSubDeadLetterSourceSubscription',
        'CloudPubSubDeadLetterSourceSubscriptionProject',
        'CloudPubSubDeadLetterSourceTopicPublishTime',
      ]);
      // Pub/Sub forwarded it: the handler never dead-lettered it itself.
      expect(dl.attributes.errorClass).toBeUndefined();
      expect(JSON.parse(dl.data.toString())).toEqual({ trigger: 'daily', runDate: '2026-11-01', dispatch: 'caller' });
      // One WARNING line per delivery, each with the class, and Pub/Sub stopped at the configured count.
      const warnings = logsOf('fanOut').filter((l) => l.message === 'fan-out failed (transient): Pub/Sub will redeliver' && l.messageId === transientMessageId);
      expect(warnings).toHaveLength(sub.maxDeliveryAttempts);
      expect(warnings.every((w) => w.errorClass === 'storage')).toBe(true);
      expect(gcs.objects(BUCKET).has(layout.plan(TRANSIENT_RUN))).toBe(false);
      console.log(`transient scenario: ${sub.maxDeliveryAttempts} deliveries then dead-lettered ${((Date.now() - transientPublishedAt) / 1000).toFixed(0)} s after publishing`);
    },
    FLOW_MS + 30_000,
  );

  it('no secret and no clear-text personal data in any log line, dead letter, staged object or BigQuery request', async () => {
    const haystacks: [string, string][] = [
      ...[...servers.entries()].map(([k, srv]): [string, string] => [`${k} output`, srv.lines.join('\n')]),
      ...deadLetters.map((m, i): [string, string] => [`dead letter ${i}`, `${m.data.toString('utf8')} ${JSON.stringify(m.attributes)}`]),
      ...[...gcs.objects(BUCKET).values()].map((o): [string, string] => [o.name, (o.data[0] === 0x1f && o.data[1] === 0x8b ? gunzipSync(o.data) : o.data).toString('utf8')]),
      ['BigQuery requests', JSON.stringify(bq.requests.map((r) => r.json ?? null))],
    ];
    expect(haystacks.length).toBeGreaterThan(10);
    const personal = await personalDataOf([db]);
    // The scan has something to find: the source does hold clear-text personal data.
    expect(personal.length).toBeGreaterThan(50);
    expect(findLeaks(haystacks, [...secretsOf([db]), ...personal])).toEqual([]);
  });
});

if (MISSING) {
  describe('emulator tier (test/emulator)', () => {
    if (CI)
      it('needs gcloud with the Pub/Sub emulator and Java (CI=true: not skipped)', () => {
        throw new Error(`the emulator tier cannot run: ${MISSING}. CI's image must have them.`);
      });
    else it.skip(`SKIPPED: ${MISSING}`, () => {});
  });
}
