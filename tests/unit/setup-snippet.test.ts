import { describe, expect, it } from 'vitest';
import { SOURCE_FORMATS } from '../../src/lib/protocol/api.ts';
import { setupSnippet } from '../../src/routes/settings/sources/setup-snippet.ts';

describe('setupSnippet: what an admin pastes into the sender', () => {
  const origin = 'https://noc.example';
  const token = 'wfs_abc123';

  it.each(SOURCE_FORMATS)('%s: names the right endpoint and carries the token', (format) => {
    const { where, text } = setupSnippet(format, origin, token);
    expect(where.length).toBeGreaterThan(0);
    expect(text).toContain(token);
    expect(text).toContain(format === 'pagerduty' ? `${origin}/v2/enqueue` : `${origin}/api/v1/ingest/${format}`);
  });

  it('mentions the HMAC signature only for a signed Grafana source', () => {
    expect(setupSnippet('grafana', origin, token, true).text).toContain('X-Grafana-Alerting-Signature');
    expect(setupSnippet('grafana', origin, token, false).text).not.toContain('HMAC');
  });
});
