import { FUNCTIONS, type FunctionKey } from '../shared/contracts/functions';
import { TOPICS, type TopicKey } from '../shared/contracts/messages';
import type { EnvironmentConfig } from './config';

/**
 * Every cloud resource name in one place. The functions find topics by TOPIC_PREFIX + TOPICS[key];
 * topicName() is that concatenation and the GCP bus adapter must use the same one.
 */
export function topicName(prefix: string, key: TopicKey): string {
  return `${prefix}${TOPICS[key]}`;
}

/**
 * Path of the registry copy inside each function bundle, relative to the function's working
 * directory (the bundle root): the functions' MUNICIPALITY_REGISTRY_FILE default.
 */
export const BUNDLED_REGISTRY_PATH = 'municipalities.yaml';

export function names(config: EnvironmentConfig) {
  const p = config.namePrefix;
  return {
    topic: (key: TopicKey) => topicName(config.topicPrefix, key),
    /** One push subscription per consuming function. */
    subscription: (key: TopicKey, fn: FunctionKey) => `${topicName(config.topicPrefix, key)}-to-${FUNCTIONS[fn].name}`,
    deadLetterHold: `${topicName(config.topicPrefix, 'deadLetter')}-hold`,
    function: (key: FunctionKey) => `${p}${FUNCTIONS[key].name}`,
    /** Service account ids are 6–30 characters. */
    serviceAccount: (role: string) => `${p}${role}`.slice(0, 30),
    functionServiceAccount: (key: FunctionKey) => `${p}fn-${FUNCTIONS[key].name}`.slice(0, 30),
    // Bucket names are global: the project id makes them unique without a random suffix.
    stagingBucket: `${config.projectId}-${p}staging`,
    sourceBucket: `${config.projectId}-${p}sources`,
    artifactRepository: `${p}functions`,
    pseudonymKeySecret: `${p}pseudonym-key`,
    /** Per VPN site (installation id, or IBGE code without one): see infra-cdktf/vpn-plan.ts. */
    vpnPskSecret: (site: string) => `vpn-psk-${site}`,
    network: `${p}vpc`,
    connectorSubnet: `${p}connector`,
    // Connector names: ≤ 25 characters, lower-case letters, digits and hyphens.
    connector: `${p}egress`.slice(0, 25),
    natRouter: `${p}nat`,
    nat: `${p}nat-config`,
    natAddress: `${p}nat-egress`,
    /** Spoke network k holding up to 5 shared VPN Cloud Routers, and its peerings with the hub. */
    vpnNetwork: (spoke: number) => `${p}vpn-net-${spoke}`,
    vpnPeering: (spoke: number, direction: 'to-spoke' | 'to-hub') => `${p}vpn-net-${spoke}-${direction}`,
    /** Shared per router slot (64 sites each). */
    vpnGateway: (slot: number) => `${p}vpn-gw-${slot}`,
    vpnRouter: (slot: number) => `${p}vpn-router-${slot}`,
    /** Per VPN site. */
    vpnPeer: (site: string) => `${p}peer-${site}`,
    vpnTunnel: (site: string, i: number) => `${p}vpn-${site}-t${i}`,
    workflow: (file: string) => `${p}${file}`,
    schedulerJob: (workflow: string) => `${p}${workflow}-schedule`,
    /** Log-based metric names: underscores, so that PromQL can name them (logging_googleapis_com:user_<name>). */
    logMetric: (what: string) => `${p.replaceAll('-', '_')}${what}`,
  };
}
export type Names = ReturnType<typeof names>;
