import dns from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
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

// BlockList checks an IPv4-mapped IPv6 address (::ffff:10.0.0.1, ::ffff:a00:1) against the IPv4 rules too.
function isLoopbackAddress(address: string, family: number): boolean {
  return LOOPBACK.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

function isPrivateAddress(address: string, family: number): boolean {
  return PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  const family = isIP(hostname);
  return family !== 0 && isLoopbackAddress(hostname, family);
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
  if (family !== 0 && isPrivateAddress(hostname, family)) throw refuse('must not point at a private network address');
  return url;
}

/**
 * A `lookup` for the push sender's connections: the name of a push endpoint is resolved again at
 * every connection, and an address on a private network (or this machine, unless allowed) is refused.
 * Checking the URL at subscribe time is not enough: a name can resolve to 10.0.0.5 or to 127.0.0.1,
 * or change what it resolves to after the check (DNS rebinding).
 */
export function refusingPrivateLookup(options: { allowLoopback: boolean; resolve?: typeof dns.lookup }): LookupFunction {
  const resolve = options.resolve ?? dns.lookup;
  return (hostname, lookupOptions, callback) => {
    resolve(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as dns.LookupAddress[];
      const refused = list.find(
        ({ address, family }) => isPrivateAddress(address, family) || (!options.allowLoopback && isLoopbackAddress(address, family)),
      );
      if (refused || list.length === 0) {
        const reason = refused ? `${hostname} resolves to ${refused.address}, a private or local address` : `${hostname} has no address`;
        return callback(Object.assign(new Error(`push endpoint refused: ${reason}`), { code: 'EPUSHADDRESS' }), '', 0);
      }
      if (lookupOptions.all) callback(null, list);
      else callback(null, list[0].address, list[0].family);
    });
  };
}
