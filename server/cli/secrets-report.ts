/** What the `secrets …` commands report: the status of the stored secrets' keys, and the words for a rotation and a reset. */
import type { Database } from '../db/database.ts';
import { countStoredSecretsByKey } from '../db/seal-stored-secrets.ts';
import type { SecretColumn } from '../auth/secret-box.ts';
import type { SecretsSetup } from '../auth/secret-key.ts';
import type { KeyRotation } from '../auth/rotate-secret-key.ts';
import type { SecretsReset } from '../auth/reset-lost-secrets.ts';

/** Which keys the stored secrets are sealed with, against the keys of the process that asks. */
export interface SecretsStatus {
  keyId: string;
  keyFrom: string;
  storedIn: SecretsSetup['storedIn'];
  previousKeyIds: string[];
  values: { column: SecretColumn; count: number; keyId: string | null; key: 'current' | 'previous' | 'unknown' | 'plain' }[];
  /** Values sealed with a previous key: the next start re-seals them; the previous key is needed until then. */
  underPreviousKeys: number;
  /** Values sealed with a key this process does not have: a server with these keys would refuse to start. */
  unopenable: number;
}

export async function secretsStatus(database: Database, { secrets, storedIn }: SecretsSetup): Promise<SecretsStatus> {
  const values = (await countStoredSecretsByKey(database)).map((c) => ({
    ...c,
    key:
      c.keyId === null ? ('plain' as const) : c.keyId === secrets.keyId ? ('current' as const) : secrets.hasKey(c.keyId) ? ('previous' as const) : ('unknown' as const),
  }));
  const total = (key: string) => values.filter((v) => v.key === key).reduce((sum, v) => sum + v.count, 0);
  return {
    keyId: secrets.keyId,
    keyFrom: secrets.keyOrigin,
    storedIn,
    previousKeyIds: secrets.previousKeyIds,
    values,
    underPreviousKeys: total('previous'),
    unopenable: total('unknown'),
  };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function describeSecretsStatus(status: SecretsStatus): string {
  const lines = [
    `Current key: id ${status.keyId}, from ${status.keyFrom}`,
    `Previous keys (open only): ${status.previousKeyIds.length ? status.previousKeyIds.join(', ') : 'none'}`,
    '',
  ];
  if (status.values.length === 0) lines.push('No secrets are stored yet.');
  else {
    const width = Math.max(...status.values.map((v) => v.column.length));
    lines.push('Stored secrets:');
    for (const v of status.values) {
      const key = v.keyId === null ? 'in clear (the next start encrypts it)' : `key ${v.keyId} (${v.key === 'unknown' ? 'not a key of this process' : v.key})`;
      lines.push(`  ${v.column.padEnd(width)}  ${String(v.count).padStart(3)}  ${key}`);
    }
  }
  lines.push('');
  if (status.unopenable > 0) {
    lines.push(
      `${plural(status.unopenable, 'stored secret is', 'stored secrets are')} sealed with a key this process does not have: a server with these keys refuses to start. ` +
        'Give it that key (as current or previous key); if it is lost for good, `watchfloor secrets reset --yes`.',
    );
  } else if (status.underPreviousKeys > 0) {
    lines.push(`${plural(status.underPreviousKeys, 'stored secret is', 'stored secrets are')} still sealed with a previous key: keep that key until a server with these keys has started (it re-seals them as it starts).`);
  } else if (status.previousKeyIds.length > 0) {
    lines.push('Every stored secret is sealed with the current key: the servers no longer need the previous keys (keep them while you keep database backups from before the rotation).');
  } else {
    lines.push('Every stored secret is sealed with the current key.');
  }
  return lines.join('\n');
}

export function describeKeyRotation(rotation: KeyRotation, setup: SecretsSetup): string {
  return [
    `Rotated the secret key: key id ${rotation.keyId} is now current (${rotation.keyFile}); key id ${rotation.previousKeyId} is kept as a previous key (${rotation.previousKeyFile}).`,
    `Re-sealed ${plural(rotation.resealed, 'stored secret')} with the new key, in one transaction.`,
    setup.runningServer ? 'The running server uses the new key already.' : 'The server reads the new key file when it starts.',
    'Keep a copy of the new key file apart from backups of the data folder, as you did the old one. The server no longer needs the old key; ' +
      'keep its file while you keep database backups from before this rotation (restoring one needs it), then delete it.',
  ].join('\n');
}

export function describeSecretsReset(reset: SecretsReset, setup: SecretsSetup): string {
  const lines: string[] = [];
  if (setup.generated) lines.push(`Generated a new key file: ${setup.generated}. Keep a copy apart from backups of the data folder.`);
  lines.push(`Reset the stored secrets that no key of this process opens; the new ones are sealed with key id ${reset.keyId} (${setup.secrets.keyOrigin}).`);
  if (reset.vapidKeysReplaced) {
    lines.push(
      setup.vapidFromEnvironment
        ? '- Web Push: the stored VAPID key pair was replaced; VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY still sign the pushes, so phones keep their subscriptions.'
        : `- Web Push: a new VAPID key pair. Every phone must enable notifications again (/m/settings); ${plural(reset.devicesRemoved, 'device subscription was', 'device subscriptions were')} made for the lost key and deleted.`,
    );
  }
  if (reset.actionSecretReplaced) {
    lines.push('- Acknowledge links: a new push-action secret. Links in notifications already sent no longer work; the next pages carry working ones.');
  }
  if (reset.sourcesWithoutSecret.length > 0) {
    lines.push(
      `- Sources whose HMAC secret was lost: ${reset.sourcesWithoutSecret.join(', ')}. A Grafana source among them refuses every webhook until an admin sets a new secret ` +
        '(Settings → Sources, or PUT /api/v1/sources/<id>/hmac-secret) and the same secret in Grafana’s contact point.',
    );
  }
  lines.push(setup.runningServer ? 'Restart the server so that it loads them.' : 'Start the server now.');
  return lines.join('\n');
}
