import { BlockList, isIP } from 'node:net';
import { DomainError } from '../errors.ts';

/** Addresses a push endpoint may not point at: the server would be made to POST into its own network. */
const PRIVATE = new BlockList();
PRIVATE.addSubnet('0.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('100.64.0.0', 10, 'ipv4');
PRIVATE.addSubnet('169.254.0.0', 16, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('fe80::', 10, 'ipv6');
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  const family = isIP(hostname);
  return family !== 0 && LOOPBACK.check(hostname, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * A push endpoint must be an https URL of a push service: no credentials in it, no loopback or
 * private address literal (a test-only setting allows loopback, for a local test push service).
 * @throws DomainError validation_failed naming `endpoint`.
 */
export function checkPushEndpoint(endpoint: string, options: { allowLoopback: boolean }): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new DomainError('validation_failed', 'body.endpoint: must be a URL', 'endpoint');
  }
  const refuse = (why: string) => new DomainError('validation_failed', `body.endpoint: ${why}`, 'endpoint');
  if (url.protocol !== 'https:') throw refuse('must be an https URL of a push service');
  if (url.username || url.password) throw refuse('must not carry credentials');
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  if (isLoopbackHost(hostname)) {
    if (!options.allowLoopback) throw refuse('must not point at this machine');
    return url;
  }
  const family = isIP(hostname);
  if (family !== 0 && PRIVATE.check(hostname, family === 4 ? 'ipv4' : 'ipv6')) throw refuse('must not point at a private network address');
  return url;
}
