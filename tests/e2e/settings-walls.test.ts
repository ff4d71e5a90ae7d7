/**
 * /settings/walls in Chromium: a lead arranges a wall in the grid editor (keyboard and pointer),
 * sees it in the preview, creates it, gets its device link once, opens a screen with it, and rotates
 * the link so the old one no longer opens anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { seedDemoEstate } from '../../server/demo/demo-estate.ts';
import type { WallDto } from '../../src/lib/protocol/walls.ts';
import { assertAppBuilt, browserAvailable, launchBrowser, newPage, screenshot, signInThroughForm, skipReason } from './browser.ts';

describe.skipIf(!browserAvailable)(`managing walls${skipReason ? ` (${skipReason})` : ''}`, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let leadCookie: string;

  const walls = async (): Promise<WallDto[]> => {
    const response = await fetch(`${server.url}/api/v1/walls`, { headers: { cookie: leadCookie } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { walls: WallDto[] }).walls;
  };
  /** What a screen gets for a device link: 303 to the wall, or the refusal page. */
  const open = async (link: string) => (await fetch(link, { redirect: 'manual' })).status;
  const panelLabels = () => page.getByTestId('grid-panel').evaluateAll((panels) => panels.map((p) => p.getAttribute('aria-label')!.split('.')[0]));

  beforeAll(async () => {
    assertAppBuilt();
    server = await startTestServer('memory://');
    await seedDemoEstate(server.context.database.db);
    const lead = await server.addUser('lena@example.com', 'lead', 'Lena Lead');
    leadCookie = await server.signIn(lead.email, lead.password);
    browser = await launchBrowser();
    ({ page, errors } = await newPage(browser));
    await page.setViewportSize({ width: 1600, height: 1000 });
    page.setDefaultTimeout(15_000);
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${server.url}/settings/walls`);
    await signInThroughForm(page, lead.email, lead.password);
    await page.waitForURL(/\/settings\/walls$/);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it('arranges a new wall by keyboard and by dragging, previews it, and shows its device link once', async () => {
    await page.getByTestId('wall-new').click();
    await page.getByLabel('Name', { exact: true }).fill('Ops wall');
    expect(await panelLabels()).toEqual([
      'Topology map at column 1, row 1, 8 by 7',
      'Triage queue at column 9, row 1, 4 by 12',
      'Uptime heatmap at column 1, row 8, 8 by 5',
    ]);

    // Keyboard: remove the heatmap, then move the map down one row.
    await page.getByRole('button', { name: /^Uptime heatmap at/ }).focus();
    await page.keyboard.press('Delete');
    await page.getByRole('button', { name: /^Topology map at/ }).focus();
    await page.keyboard.press('ArrowDown');
    expect(await panelLabels()).toEqual(['Topology map at column 1, row 2, 8 by 7', 'Triage queue at column 9, row 1, 4 by 12']);

    // Pointer: drag the map two more rows down (the grid has 12 rows over the editor's height).
    const editor = (await page.getByTestId('wall-grid-editor').boundingBox())!;
    const map = (await page.getByRole('button', { name: /^Topology map at/ }).boundingBox())!;
    const rowHeight = editor.height / 12;
    const from = { x: map.x + map.width / 2, y: map.y + map.height / 2 };
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(from.x, from.y + rowHeight, { steps: 4 });
    await page.mouse.move(from.x, from.y + 2 * rowHeight, { steps: 4 });
    await page.mouse.up();
    expect((await panelLabels())[0]).toBe('Topology map at column 1, row 4, 8 by 7');

    // A new panel goes where there is room.
    await page.getByRole('button', { name: 'Uptime heatmap', exact: true }).click();
    expect(await panelLabels()).toHaveLength(3);
    expect((await panelLabels())[2]).toMatch(/^Uptime heatmap at column 1, row 1, /);

    // The wall's heatmap counts days at the NOC's midnight, not the server's.
    await page.getByTestId('wall-time-zone').fill('Australia/Sydney');

    // The preview draws the layout being edited, with live data.
    await page.getByTestId('wall-preview').locator('.topology').waitFor();
    await screenshot(page, 'settings-walls-editor');

    await page.getByTestId('wall-save').click();
    const link = await page.getByTestId('wall-link-value').inputValue();
    const [created] = (await walls()).filter((w) => w.name === 'Ops wall');
    expect(link).toBe(`${server.url}/wall/${created.id}?token=${link.split('token=')[1]}`);
    expect(created.pages[0].panels).toEqual([
      { kind: 'map', x: 0, y: 3, w: 8, h: 7 },
      { kind: 'queue', x: 8, y: 0, w: 4, h: 12 },
      expect.objectContaining({ kind: 'heatmap', x: 0, y: 0 }),
    ]);
    expect(created.timeZone).toBe('Australia/Sydney');
    await screenshot(page, 'settings-walls-created');

    // The link opens a screen showing that wall, live.
    const screen = await newPage(browser);
    await screen.page.goto(link);
    await screen.page.waitForURL(`${server.url}/wall/${created.id}`);
    await screen.page.locator('[data-testid="wall"][data-status="live"]').waitFor();
    await screen.page.context().close();
    expect(screen.errors).toEqual([]);

    // Shown once: after it is dismissed, the page only knows the token's prefix.
    await page.getByRole('button', { name: 'Done, I have saved it' }).click();
    await expect(page.getByTestId('wall-link').count()).resolves.toBe(0);
    expect(await page.content()).not.toContain(link.split('token=')[1]);

    // Rotating gives a new link; the old one no longer opens the wall.
    const row = page.getByTestId('wall-row').filter({ hasText: 'Ops wall' });
    await row.getByRole('button', { name: 'Rotate token' }).click();
    const rotated = await page.getByTestId('wall-link-value').inputValue();
    expect(rotated).not.toBe(link);
    expect(await open(link)).toBe(401);
    expect(await open(rotated)).toBe(303);
    expect(errors).toEqual([]);
  });
});
