import { DataGoogleSecretManagerSecretVersion, SecretManagerSecret } from '../google';
import type { StackContext } from './context';

export interface Secrets {
  pseudonymKey: SecretManagerSecret;
  /** One database password secret per municipality, keyed by IBGE code. */
  dbPasswords: Map<string, SecretManagerSecret>;
}

/**
 * Secret *containers* only. Values (versions) are added out of band with `gcloud secrets versions add`
 * (docs/deploy.md): a google_secret_manager_secret_version resource would put the value in the
 * synthesized JSON and in state. Replicas stay in São Paulo (LGPD).
 */
export function secrets(ctx: StackContext): Secrets {
  const secret = (id: string, secretId: string, purpose: string) =>
    new SecretManagerSecret(ctx.scope, id, {
      project: ctx.config.projectId,
      secretId,
      labels: { purpose },
      replication: { userManaged: { replicas: [{ location: ctx.config.region }] } },
    });

  const pseudonymKey = secret('secret-pseudonym-key', ctx.names.pseudonymKeySecret, 'pseudonym-key');
  const dbPasswords = new Map<string, SecretManagerSecret>();
  for (const m of ctx.registry.municipalities) {
    // cloudRegistryProblems() already refused every other password source for the cloud.
    if ('secret' in m.connection.password) dbPasswords.set(m.ibge, secret(`secret-db-password-${m.ibge}`, m.connection.password.secret, 'db-password'));
  }
  return { pseudonymKey, dbPasswords };
}

/**
 * The IKE pre-shared key of a VPN site (installation, or municipality without one), read from
 * `vpn-psk-<site>` (created out of band and exchanged with its network team over a separate channel). A data source keeps the key out of the
 * synthesized JSON; Terraform still records it, marked sensitive, in the state (hence the private,
 * access-restricted state bucket). Moving to an ephemeral resource + the tunnel's write-only
 * `shared_secret_wo` would keep it out of state too, once the provider bindings offer both.
 */
export function vpnPreSharedKey(ctx: StackContext, site: string): DataGoogleSecretManagerSecretVersion {
  return new DataGoogleSecretManagerSecretVersion(ctx.scope, `vpn-psk-${site}`, {
    project: ctx.config.projectId,
    secret: ctx.names.vpnPskSecret(site),
  });
}
