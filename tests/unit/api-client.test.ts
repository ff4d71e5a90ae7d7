import { describe, expect, it } from 'vitest';
import { ApiError, failureMessage } from '../../src/lib/api/client.ts';

// The browser's side of it (a form with the network cut) is in tests/e2e/settings-sources.test.ts.
describe('what people are told when an API call fails', () => {
  it("shows the server's own message when it answered with an error", () => {
    const refused = new ApiError(400, { error: { code: 'validation_failed', message: 'body.name: already exists', path: 'name' } });
    expect(failureMessage(refused)).toBe('body.name: already exists');
  });

  it('says the server could not be reached when the request got no answer, not the browser\'s "Failed to fetch"', () => {
    expect(failureMessage(new TypeError('Failed to fetch'))).toBe('the server could not be reached');
  });
});
