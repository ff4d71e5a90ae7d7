import { describe, it, expect } from 'vitest';
import { noticesToSend, type ScreenNotice } from '../../server/realtime/screen-news.ts';

/** The longest client slug there can be (64 characters), numbered so each is distinct. */
const longSlug = (i: number) => `c${String(i).padStart(63, '0')}`;
const bytes = (notice: ScreenNotice) => Buffer.byteLength(JSON.stringify({ from: crypto.randomUUID(), notice }));

describe('screen notices stay under the 8000 bytes Postgres takes', () => {
  it('splits a topology change of many long-named clients, losing none', () => {
    const clients = Array.from({ length: 1234 }, (_, i) => longSlug(i));
    const parts = noticesToSend({ kind: 'topology:changed', clients: [...clients, clients[0]] });
    expect(Math.max(...parts.map(bytes))).toBeLessThan(8000);
    expect(parts.flatMap((p) => (p.kind === 'topology:changed' ? p.clients : []))).toEqual(clients);
  });

  it('splits utilisation of many links, losing none', () => {
    const links = Array.from({ length: 997 }, (_, i) => ({ id: crypto.randomUUID(), utilisation: 0.123456789, client: longSlug(i) }));
    const parts = noticesToSend({ kind: 'topology:utilisation', links });
    expect(Math.max(...parts.map(bytes))).toBeLessThan(8000);
    expect(parts.flatMap((p) => (p.kind === 'topology:utilisation' ? p.links : []))).toEqual(links);
  });

  it('sends short news as it is', () => {
    expect(noticesToSend({ kind: 'uptime:rolled' })).toEqual([{ kind: 'uptime:rolled' }]);
    expect(noticesToSend({ kind: 'topology:changed', clients: ['acme'] })).toEqual([{ kind: 'topology:changed', clients: ['acme'] }]);
  });
});
