import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { io } from 'socket.io-client';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { assertAppBuilt, browserAvailable, launchBrowser, newPage, screenshot, signInThroughForm, skipReason } from './browser.ts';

describe.skipIf(!browserAvailable)(`signing in and out, managing users${skipReason ? ` (${skipReason})` : ''}`, () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    assertAppBuilt();
    server = await startTestServer('memory://');
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  const live = (page: Page) => page.locator('[data-testid="connection"][data-status="live"]');

  it('sends a visitor to sign in, then shows the console with a live connection', async () => {
    const erin = await server.addUser('erin@example.com', 'engineer', 'Erin Okafor');
    const { context, page, errors } = await newPage(browser);

    await page.goto(`${server.url}/`);
    await page.waitForURL(/\/login\?next=%2F$/);
    await screenshot(page, 'sign-in-form');

    await signInThroughForm(page, erin.email, erin.password);
    await page.getByRole('heading', { name: 'Queue' }).waitFor();
    await live(page).waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    await expect(page.getByTestId('incident-list').innerText()).resolves.toContain('No open incidents');
    await expect(page.getByTestId('current-user').innerText()).resolves.toMatch(/Erin Okafor\s*engineer/);
    // An engineer has no user management: no link, and the page says why.
    expect(await page.getByRole('link', { name: 'Settings' }).count()).toBe(0);
    await screenshot(page, 'console-live');

    await page.goto(`${server.url}/settings/users`);
    await page.getByText('You need the admin role').waitFor();

    expect(errors).toEqual([]);
    await context.close();
  });

  it('signs out through the UI: the other tab ends up at sign-in and the old cookie opens no socket', async () => {
    const sam = await server.addUser('sam@example.com', 'lead', 'Sam Lee');
    const { context, page, errors } = await newPage(browser);
    await page.goto(`${server.url}/login`);
    await signInThroughForm(page, sam.email, sam.password);
    await live(page).waitFor();
    const other = await context.newPage();
    await other.goto(`${server.url}/`);
    await live(other).waitFor();

    const cookie = (await context.cookies()).find((c) => c.name === 'wf_session');
    expect(cookie?.httpOnly).toBe(true);

    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await page.locator('[data-testid="connection"][data-status="ended"]').waitFor();
    await screenshot(page, 'signed-out');

    // The other tab's socket was told the session ended: it goes to sign-in and says why.
    await other.waitForURL(/\/login\?/);
    await other.getByTestId('session-ended').waitFor();
    await screenshot(other, 'other-tab-after-sign-out');

    const refused = await new Promise<string>((resolve, reject) => {
      const socket = io(server.url, {
        transports: ['websocket'],
        reconnection: false,
        extraHeaders: { cookie: `wf_session=${cookie!.value}` },
      });
      socket.on('connect', () => {
        socket.disconnect();
        reject(new Error('a signed-out cookie opened a socket'));
      });
      socket.on('connect_error', (error) => {
        socket.disconnect();
        resolve(error.message);
      });
    });
    expect(refused).toBe('unauthenticated');

    expect(errors).toEqual([]);
    await context.close();
  });

  it('lets an admin add a user, whose one-time password works once and must be replaced', async () => {
    const ada = await server.addUser('ada@example.com', 'admin', 'Ada Admin');
    const { context, page, errors } = await newPage(browser);
    await page.goto(`${server.url}/login?next=${encodeURIComponent('/settings/users')}`);
    await signInThroughForm(page, ada.email, ada.password);
    await page.waitForURL(/\/settings\/users$/);
    await page.locator('[data-testid="user-row"][data-email="ada@example.com"]').waitFor();

    const form = page.getByTestId('add-user');
    await form.getByLabel('Email').fill('noor@example.com');
    await form.getByLabel('Name').fill('Noor Haddad');
    await form.getByLabel('Role').selectOption('engineer');
    await form.getByRole('button', { name: 'Add user' }).click();

    const otp = page.getByTestId('one-time-password');
    await otp.waitFor();
    await expect(otp.innerText()).resolves.toContain('Shown only once');
    const oneTimePassword = await page.getByTestId('one-time-password-value').inputValue();
    expect(oneTimePassword.length).toBeGreaterThanOrEqual(10);
    const row = page.locator('[data-testid="user-row"][data-email="noor@example.com"]');
    await expect(row.getAttribute('data-status')).resolves.toBe('pending');
    await screenshot(page, 'users-one-time-password');

    // Adding the same email again is refused, with the server's message shown inline.
    await form.getByLabel('Email').fill('noor@example.com');
    await form.getByLabel('Name').fill('Noor again');
    await form.getByRole('button', { name: 'Add user' }).click();
    await form.getByText('already exists').waitFor();

    await page.getByRole('button', { name: 'Done, I have saved it' }).click();
    expect(await otp.count()).toBe(0);
    await screenshot(page, 'users-list');
    expect(errors).toEqual([]);
    await context.close();

    // Noor signs in with it and has to choose her own password before anything else.
    const noor = await newPage(browser);
    await noor.page.goto(`${server.url}/`);
    await signInThroughForm(noor.page, 'noor@example.com', oneTimePassword);
    await noor.page.waitForURL(/\/account\/password/);
    await noor.page.getByTestId('must-change').waitFor();
    await screenshot(noor.page, 'choose-password');
    await noor.page.getByLabel('One-time password').fill(oneTimePassword);
    await noor.page.getByLabel('New password', { exact: true }).fill('correct horse battery staple');
    await noor.page.getByLabel('Repeat the new password').fill('correct horse battery staple');
    await noor.page.getByRole('button', { name: 'Change password' }).click();
    await noor.page.getByRole('heading', { name: 'Queue' }).waitFor();
    await live(noor.page).waitFor();
    expect(noor.errors).toEqual([]);
    await noor.context.close();
  });

  it('answers a wrong password and an unknown email with the same message', async () => {
    const { context, page } = await newPage(browser);
    const messages: string[] = [];
    for (const email of ['ada@example.com', 'nobody@example.com']) {
      await page.goto(`${server.url}/login`);
      await signInThroughForm(page, email, 'not-the-password');
      const alert = page.getByTestId('login-error');
      await alert.getByText(/wrong email or password/i).waitFor();
      messages.push(await alert.innerText());
      await expect(page.getByRole('button', { name: 'Sign in' }).isEnabled()).resolves.toBe(true);
    }
    expect(messages[0]).toBe(messages[1]);
    expect(messages[0]).not.toMatch(/nobody|exist|unknown/i);
    await screenshot(page, 'sign-in-wrong-password');
    expect(new URL(page.url()).pathname).toBe('/login');
    await context.close();
  });
});
