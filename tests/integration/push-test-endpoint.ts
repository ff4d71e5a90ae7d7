/**
 * A push service on loopback, for tests: HTTPS with a self-signed certificate, one URL per
 * subscription. It checks what a real push service checks (the VAPID JWT: ES256 signature with the
 * key in the header, `aud` = this origin, `exp` in the next 24 h) and decrypts the RFC 8291
 * `aes128gcm` body with the subscription keys the test created — written here with node:crypto,
 * independently of the library the server sends with — so a test reads exactly what a phone would.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

export interface ReceivedPush {
  subscriptionId: string;
  headers: Record<string, string | string[] | undefined>;
  /** The decrypted payload (text), or null when it could not be decrypted. */
  plaintext: string | null;
  /** What was wrong with the request, if anything (VAPID, encryption). Empty means a valid push. */
  problems: string[];
  vapid: { aud: string; exp: number; sub: string } | null;
  /** The status this endpoint answered with. */
  answered: number;
}

export interface TestSubscription {
  id: string;
  /** What the browser's PushSubscription.toJSON() gives. */
  json: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
  ecdh: crypto.ECDH;
  authSecret: Buffer;
}

const b64u = (data: Buffer | Uint8Array) => Buffer.from(data).toString('base64url');

function hkdf(salt: Buffer, ikm: Buffer, info: Buffer, length: number): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', ikm, salt, info, length));
}

/** RFC 8291 §3.4 + RFC 8188: decrypts an `aes128gcm` Web Push body with the receiver's keys. */
export function decryptAes128gcm(body: Buffer, ecdh: crypto.ECDH, authSecret: Buffer): string {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body.readUInt8(20);
  const senderPublic = body.subarray(21, 21 + idLength);
  if (idLength !== 65 || senderPublic[0] !== 0x04) throw new Error('keyid is not an uncompressed P-256 public key');
  const receiverPublic = ecdh.getPublicKey();
  const ecdhSecret = ecdh.computeSecret(senderPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), receiverPublic, senderPublic]);
  const ikm = hkdf(authSecret, ecdhSecret, keyInfo, 32);
  const cek = hkdf(salt, ikm, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonceBase = hkdf(salt, ikm, Buffer.from('Content-Encoding: nonce\0'), 12);
  const ciphertext = body.subarray(21 + idLength);
  const records: Buffer[] = [];
  for (let offset = 0, seq = 0; offset < ciphertext.length; offset += recordSize, seq++) {
    const record = ciphertext.subarray(offset, Math.min(offset + recordSize, ciphertext.length));
    const nonce = Buffer.from(nonceBase);
    // The record sequence number is XORed into the nonce's low bytes (seq stays far below 2^32 here).
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8);
    const decipher = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    // Padding: the content, a delimiter (2 in the last record, 1 before), then zeros.
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    const last = offset + recordSize >= ciphertext.length;
    if (plain[end] !== (last ? 2 : 1)) throw new Error('bad padding delimiter');
    records.push(plain.subarray(0, end));
  }
  return Buffer.concat(records).toString('utf8');
}

/** RFC 8292: `Authorization: vapid t=<JWT>, k=<public key>`; returns the claims and any problems. */
export function verifyVapid(authorization: string | undefined, origin: string, now = Date.now()): { claims: ReceivedPush['vapid']; problems: string[] } {
  const problems: string[] = [];
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!match) return { claims: null, problems: [`no vapid authorization: ${authorization ?? '(none)'}`] };
  const [, jwt, key] = match;
  const [header, payload, signature] = jwt.split('.');
  const publicKey = Buffer.from(key, 'base64url');
  if (publicKey.length !== 65 || publicKey[0] !== 0x04) problems.push('k is not an uncompressed P-256 key');
  const jwk = { kty: 'EC', crv: 'P-256', x: b64u(publicKey.subarray(1, 33)), y: b64u(publicKey.subarray(33, 65)) };
  const verified = crypto.verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key: crypto.createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature ?? '', 'base64url'),
  );
  if (!verified) problems.push('JWT signature does not verify with k');
  const head = JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: string; typ?: string };
  if (head.alg !== 'ES256') problems.push(`alg is ${head.alg}, not ES256`);
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { aud: string; exp: number; sub: string };
  if (claims.aud !== origin) problems.push(`aud is ${claims.aud}, not ${origin}`);
  const seconds = Math.floor(now / 1000);
  if (!(claims.exp > seconds)) problems.push('exp is in the past');
  if (claims.exp > seconds + 24 * 3600) problems.push('exp is more than 24 h ahead');
  if (!/^(mailto:|https:)/.test(claims.sub ?? '')) problems.push('sub is not a mailto: or https: URL');
  return { claims, problems };
}

export class TestPushService {
  readonly received: ReceivedPush[] = [];
  /** PEM file of the certificate (its own CA): give it to the server as WATCHFLOOR_PUSH_TEST_CA. */
  readonly caFile: string;
  readonly #server: https.Server;
  readonly #subscriptions = new Map<string, TestSubscription>();
  /** Subscriptions the service answers 410 Gone for (the device unsubscribed). */
  readonly gone = new Set<string>();
  #waiters: (() => void)[] = [];
  origin = '';

  private constructor(server: https.Server, caFile: string) {
    this.#server = server;
    this.caFile = caFile;
  }

  static async start(): Promise<TestPushService> {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 24 * 3600_000),
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
      ],
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-push-'));
    const caFile = path.join(dir, 'ca.pem');
    fs.writeFileSync(caFile, pems.cert);
    const server = https.createServer({ key: pems.private, cert: pems.cert });
    const service = new TestPushService(server, caFile);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const id = (request.url ?? '').replace(/^\/push\//, '');
        const answered = service.#handle(id, request.headers, Buffer.concat(chunks));
        response.writeHead(answered, { location: `${service.origin}/message/${crypto.randomUUID()}` }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    service.origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return service;
  }

  /** A new subscription as a browser would make it: its own P-256 key pair and auth secret. */
  subscribe(): TestSubscription {
    const id = crypto.randomUUID();
    const ecdh = crypto.createECDH('prime256v1');
    ecdh.generateKeys();
    const authSecret = crypto.randomBytes(16);
    const subscription: TestSubscription = {
      id,
      ecdh,
      authSecret,
      json: { endpoint: `${this.origin}/push/${id}`, expirationTime: null, keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(authSecret) } },
    };
    this.#subscriptions.set(id, subscription);
    return subscription;
  }

  #handle(id: string, headers: ReceivedPush['headers'], body: Buffer): number {
    const subscription = this.#subscriptions.get(id);
    const { claims, problems } = verifyVapid(headers.authorization as string | undefined, this.origin);
    let plaintext: string | null = null;
    if (headers['content-encoding'] !== 'aes128gcm') problems.push(`content-encoding is ${headers['content-encoding']}`);
    if (!headers.ttl) problems.push('no TTL header');
    if (!subscription) problems.push('unknown subscription');
    else {
      try {
        plaintext = decryptAes128gcm(body, subscription.ecdh, subscription.authSecret);
      } catch (error) {
        problems.push(`cannot decrypt: ${(error as Error).message}`);
      }
    }
    const answered = !subscription || this.gone.has(id) ? 410 : problems.length > 0 ? 400 : 201;
    this.received.push({ subscriptionId: id, headers, plaintext, problems, vapid: claims, answered });
    for (const wake of this.#waiters.splice(0)) wake();
    return answered;
  }

  /** Waits until at least `count` pushes arrived (or fails after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 10_000): Promise<ReceivedPush[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} pushes, got ${this.received.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received.slice(0, count);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    fs.rmSync(path.dirname(this.caFile), { recursive: true, force: true });
  }
}
