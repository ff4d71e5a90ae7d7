import http from 'node:http';
import type dns from 'node:dns';
import { describe, expect, it } from 'vitest';
import { refusingPrivateLookup } from '../../server/push/endpoint-policy.ts';

/** A resolver that answers from a table, as DNS would (a name may have several addresses). */
function resolverOf(table: Record<string, dns.LookupAddress[]>): typeof dns.lookup {
  return ((hostname: string, _options: unknown, callback: (error: Error | null, addresses: dns.LookupAddress[]) => void) => {
    const found = table[hostname];
    if (!found) callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    else callback(null, found);
  }) as unknown as typeof dns.lookup;
}

const resolve = resolverOf({
  'push.example': [{ address: '203.0.113.7', family: 4 }],
  'rebound.example': [{ address: '10.0.0.5', family: 4 }],
  'metadata.example': [{ address: '169.254.169.254', family: 4 }],
  'mixed.example': [
    { address: '203.0.113.8', family: 4 },
    { address: 'fd00::1', family: 6 },
  ],
  'mapped.example': [{ address: '::ffff:192.168.1.2', family: 6 }],
  'self.example': [{ address: '127.0.0.1', family: 4 }],
  'self-mapped.example': [{ address: '::ffff:127.0.0.1', family: 6 }],
});

function lookUp(hostname: string, options: { all?: boolean }, allowLoopback = false) {
  const lookup = refusingPrivateLookup({ allowLoopback, resolve });
  return new Promise<{ error: (Error & { code?: string }) | null; result: unknown }>((done) =>
    lookup(hostname, options as dns.LookupOptions, (error: Error | null, address: unknown, family?: number) =>
      done({ error: error as (Error & { code?: string }) | null, result: options.all ? address : { address, family } }),
    ),
  );
}

describe('push endpoint addresses, checked at every connection', () => {
  it('passes a push service on the internet through, in the form the caller asked for', async () => {
    expect(await lookUp('push.example', {})).toEqual({ error: null, result: { address: '203.0.113.7', family: 4 } });
    expect(await lookUp('push.example', { all: true })).toEqual({ error: null, result: [{ address: '203.0.113.7', family: 4 }] });
  });

  it('refuses a name that resolves into a private network, link-local metadata, or this machine', async () => {
    for (const name of ['rebound.example', 'metadata.example', 'mixed.example', 'mapped.example', 'self.example']) {
      const { error } = await lookUp(name, { all: true });
      expect(error?.code, name).toBe('EPUSHADDRESS');
      expect(error?.message).toMatch(new RegExp(`${name.replace('.', '\\.')} resolves to`));
    }
  });

  it('lets this machine through only when the test setting allows loopback, never a private network', async () => {
    expect((await lookUp('self.example', {}, true)).error).toBeNull();
    expect((await lookUp('rebound.example', {}, true)).error?.code).toBe('EPUSHADDRESS');
    // This machine written as an IPv4-mapped IPv6 address is this machine too: the same rule either way.
    expect((await lookUp('self-mapped.example', {})).error?.code).toBe('EPUSHADDRESS');
    expect((await lookUp('self-mapped.example', {}, true)).error).toBeNull();
  });

  it('passes resolver errors on', async () => {
    expect((await lookUp('nowhere.example', {})).error?.message).toMatch(/ENOTFOUND/);
  });

  it('stops a real connection before it is made', async () => {
    let connections = 0;
    const server = http.createServer((_request, response) => response.end('reached'));
    server.on('connection', () => connections++);
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    const { port } = server.address() as { port: number };
    const agent = new http.Agent({ lookup: refusingPrivateLookup({ allowLoopback: false, resolve }) });
    const outcome = await new Promise<string>((done) => {
      http
        .get({ host: 'self.example', port, agent }, (response) => done(`status ${response.statusCode}`))
        .on('error', (error: Error & { code?: string }) => done(error.code ?? error.message));
    });
    agent.destroy();
    server.close();
    expect(outcome).toBe('EPUSHADDRESS');
    expect(connections).toBe(0);
  });
});
