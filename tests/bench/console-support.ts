/** What the console benchmarks share: the incidents they seed and how a page tells its first render. */
import type { Page } from 'playwright-core';
import { postAlertmanager, type TestAlert } from '../helpers/alertmanager.ts';

const SEVERITIES = ['critical', 'high', 'warning', 'info'];
const CLIENTS = ['acme', 'globex', 'initech', 'umbrella'];

/** One alert per incident: a distinct alertname makes its own group. */
export const queueAlert = (i: number, status: 'firing' | 'resolved' = 'firing'): TestAlert => ({
  name: `BenchAlert${i}`,
  client: CLIENTS[i % CLIENTS.length],
  instance: `node-${i % 400}`,
  severity: SEVERITIES[i % 7 === 0 ? 0 : i % 4],
  summary: `Synthetic incident ${i} on node-${i % 400}: interface errors above threshold`,
  fingerprint: `bench-${i}`,
  status,
  startsAt: new Date(Date.now() - (i % 3600) * 1000).toISOString(),
});

/** Opens `count` incidents through the real Alertmanager webhook, 500 a request. */
export async function seedQueue(url: string, token: string, count: number): Promise<void> {
  for (let from = 0; from < count; from += 500) {
    const batch = Array.from({ length: Math.min(500, count - from) }, (_, k) => queueAlert(from + k));
    const response = await postAlertmanager(url, token, batch);
    if (response.status !== 200) throw new Error(`seeding failed: ${response.status} ${await response.text()}`);
  }
}

/** What the page logs when the queue first shows its rows. */
export const FIRST_RENDER = 'watchfloor-bench:first-render';

/**
 * Makes every page of `page` note (`window.__firstRender`, ms since navigation start) and log
 * {@link FIRST_RENDER} the first time the queue shows rows with all `expected` incidents counted.
 * Told by a console message, not page.waitForFunction: that injects Playwright's own script, whose
 * compilation took ~100 ms of the page's main thread in the middle of the load (seen in a trace).
 */
export async function markFirstRender(page: Page, expected: number): Promise<void> {
  await page.addInitScript(({ expected, FIRST_RENDER }) => {
    const w = window as unknown as { __firstRender?: number };
    new MutationObserver(() => {
      const list = document.querySelector('[data-testid="incident-list"]');
      if (w.__firstRender === undefined && list && Number(list.getAttribute('data-count')) >= expected && list.querySelector('[data-testid="incident-row"]')) {
        // The DOM is updated; the rows are on screen at the next frame.
        requestAnimationFrame(() => {
          if (w.__firstRender !== undefined) return;
          w.__firstRender = performance.now();
          console.debug(FIRST_RENDER);
        });
      }
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-count'] });
  }, { expected, FIRST_RENDER });
}

/** Navigates `page` to `url` and resolves with its first render (ms since navigation start). */
export async function firstRenderOf(page: Page, url: string, also: Promise<unknown>[] = []): Promise<number> {
  const rendered = page.waitForEvent('console', { predicate: (message) => message.text() === FIRST_RENDER, timeout: 60_000 });
  await page.goto(url);
  await Promise.all([rendered, ...also]);
  return Math.round(await page.evaluate(() => (window as unknown as { __firstRender: number }).__firstRender));
}
