import { describe, expect, it } from 'vitest';
import { linkLabel, safeHttpUrl } from '../../src/lib/console/safe-url.ts';

describe('safeHttpUrl: only http(s) alert URLs become links', () => {
  it('accepts http and https', () => {
    expect(safeHttpUrl('https://runbooks.example/bgp')).toBe('https://runbooks.example/bgp');
    expect(safeHttpUrl(' http://grafana.example/d/abc?from=now-1h ')).toBe('http://grafana.example/d/abc?from=now-1h');
  });
  it('refuses every other scheme and anything that is not a URL', () => {
    for (const text of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox',
      'ftp://files.example/x',
      '//evil.example/x',
      '/relative/path',
      'see https://example.com',
      'http://',
      '',
      null,
      undefined,
    ]) {
      expect(safeHttpUrl(text), String(text)).toBeNull();
    }
  });
  it('names well-known link annotations', () => {
    expect(linkLabel('runbook_url', 'x')).toBe('Runbook');
    expect(linkLabel('custom_link', 'Custom')).toBe('Custom');
  });
});
