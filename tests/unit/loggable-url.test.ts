import { describe, expect, it } from 'vitest';
import { loggableUrl } from '../../server/http/create-http.ts';

describe('request URLs in logs', () => {
  it("replaces a wall's device token and keeps everything else", () => {
    expect(loggableUrl('/wall/3f2a?token=wfw_secret123&x=1')).toBe('/wall/3f2a?token=%5BRedacted%5D&x=1');
    expect(loggableUrl('/api/v1/incidents?client=acme')).toBe('/api/v1/incidents?client=acme');
    expect(loggableUrl('/healthz')).toBe('/healthz');
  });
});
