/**
 * The web console (/console) in a real browser (Debian's chromium, driven by playwright-core)
 * through the real mesh, compute included: a wrong password shows the gateway's message, two
 * users in two browser contexts chat live, a node is created, stopped and started from the page
 * and its output shown, and the bus panel shows the heartbeat. The screenshots are taken on
 * every run, and saved to docs/img/ (those README shows) with UPDATE_SCREENSHOTS=1, else to a
 * temporary folder. Without chromium the test is skipped (failed under CI=true).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startMesh } from '../helpers/mesh';
import { ROOT, skipOrFail } from '../helpers/proc';
import { call, logon, type Json } from '../helpers/v1';

const CHROMIUM = '/usr/bin/chromium';
const IMG =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? path.join(ROOT, 'docs', 'img')
    : path.join(os.tmpdir(), `agora-console-screenshots-${process.pid}`);
const TIMEOUT = 20_000;

async function launch(): Promise<{ browser: Browser; dir: string }> {
  // A fresh profile: playwright gives launch() its own temporary user data directory, and the
  // browser's caches go to this one (removed at the end).
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agora-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: TIMEOUT,
    env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir, XDG_CACHE_HOME: dir },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return { browser, dir };
}

async function signIn(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/console`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('the web console in chromium: sign-in errors, live chat between two users, nodes, bus', async (t) => {
  if (!existsSync(CHROMIUM)) {
    skipOrFail(t, `${CHROMIUM} is not installed`, 'chromium');
    return;
  }
  const mesh = await startMesh(t, { AGORA_SSE_HEARTBEAT_MS: '2000' }, { compute: true });
  const { base } = mesh;
  const { browser, dir } = await launch();
  t.after(async () => {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
    if (process.env.UPDATE_SCREENSHOTS !== '1') rmSync(IMG, { recursive: true, force: true });
  });
  mkdirSync(IMG, { recursive: true });
  const ctxAnn = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const ctxBob = await browser.newContext({ viewport: { width: 390, height: 760 } });
  const ann = await ctxAnn.newPage();
  const bob = await ctxBob.newPage();
  for (const page of [ann, bob]) page.setDefaultTimeout(TIMEOUT);
  const pageErrors: string[] = [];
  for (const page of [ann, bob]) {
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      // The answers the page handles (a 401 at sign-in, a 409) are logged by the browser too.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });
  }

  await t.test('the page is served with a strict CSP and no inline script', async () => {
    const res = await call(base, 'GET', '/console');
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-security-policy')), /script-src 'self'/);
    assert.doesNotMatch(res.text, /<script>|<script [^>]*>[^<]/);
  });

  await t.test('a wrong password shows the gateway’s message, in words', async () => {
    await logon(base, 'bob');
    const direct = await call(base, 'POST', '/v1/sessions', { body: { username: 'bob', password: 'nope' } });
    assert.equal(direct.status, 401);
    await signIn(bob, base, 'bob', 'nope');
    const alert = bob.getByRole('alert');
    await alert.waitFor({ state: 'visible' });
    assert.equal(await alert.textContent(), String((direct.body as Json).message));
    assert.equal(await bob.getByLabel('Username').inputValue(), 'bob');
  });

  await t.test('two users in two browsers chat live', () => chatLive(base, ann, bob));

  await t.test('a node is created and started from the page; its output and URL are shown', () =>
    nodesFromThePage(base, ann),
  );

  await t.test("the bus panel shows the broker's services (GET /v1/bus) and /__heartbeat__", async () => {
    await ann.getByRole('tab', { name: 'Bus' }).click();
    await ann.getByRole('row', { name: /broker up/ }).waitFor();
    await ann.getByRole('row', { name: /Messages up/ }).waitFor();
    // Messages has served this test's posts: its row counts calls (errors / calls, the last cell).
    const messages = ann.getByRole('row', { name: /^Messages 1 \d+ \/ \d+/ });
    await messages.waitFor();
    const cells = await messages.getByRole('cell').allTextContents();
    const calls = Number(/\/ (\d+)$/.exec(cells.at(-1) ?? '')?.[1]);
    assert.ok(calls > 0, `Messages calls: ${cells.join(' | ')}`);
  });

  await t.test('signing out ends the session; the page asks to sign in again', async () => {
    const key = Number(await sessionOf(bob));
    await bob.getByRole('button', { name: 'Sign out' }).click();
    await bob.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal((await call(base, 'GET', '/v1/sessions/current', { key })).status, 401);
    assert.deepEqual(pageErrors, []);
  });
});

function sessionOf(page: Page): Promise<string | null> {
  // A string: the page's DOM types are not this file's.
  return page.evaluate<string | null>("sessionStorage.getItem('agora.session')");
}

async function chatLive(base: string, ann: Page, bob: Page): Promise<void> {
  await signIn(ann, base, 'ann', 'pw-ann');
  await ann.getByText('Signed in as ann').waitFor();
  await ann.getByLabel('New channel').fill('lobby');
  await ann.getByRole('button', { name: 'Create' }).click();
  await ann.getByRole('heading', { name: '#lobby' }).waitFor();
  await ann.getByText('live', { exact: true }).waitFor();

  await bob.getByLabel('Password').fill('pw-bob');
  await bob.getByRole('button', { name: 'Sign in' }).click();
  await bob.getByRole('button', { name: '#lobby' }).click();
  await bob.getByText('live', { exact: true }).waitFor();
  assert.equal(await bob.getByRole('alert').isHidden(), true);

  await ann.getByRole('textbox', { name: 'Message' }).fill('Hello from ann');
  await ann.getByRole('textbox', { name: 'Message' }).press('Enter');
  await bob.getByRole('list', { name: 'Messages of #lobby' }).getByText('Hello from ann').waitFor();
  await bob.getByRole('textbox', { name: 'Message' }).fill('Hi ann, bob here');
  await bob.getByRole('button', { name: 'Post' }).click();
  await ann.getByRole('list', { name: 'Messages of #lobby' }).getByText('Hi ann, bob here').waitFor();
  // Posted elsewhere (the API), seen live too.
  const key = await logon(base, 'carl');
  await call(base, 'POST', '/v1/channels/lobby/messages', { key, body: { message: 'carl says hi through the API' } });
  await ann.getByText('carl says hi through the API').waitFor();
  await bob.getByText('carl says hi through the API').waitFor();
  assert.equal(await ann.locator('.messages li').count(), 3);
  await ann.screenshot({ path: path.join(IMG, 'console-chat.png') });
}

async function nodesFromThePage(base: string, ann: Page): Promise<void> {
  await ann.getByRole('tab', { name: 'Nodes' }).click();
  await ann.getByRole('textbox', { name: 'Name' }).fill('web');
  await ann.getByRole('button', { name: 'Create node' }).click();
  const row = ann.locator('tr[data-status]', { hasText: 'web' });
  await row.and(ann.locator('[data-status=ACTIVE]')).waitFor();
  await ann.getByRole('button', { name: 'Stop web' }).click();
  await row.and(ann.locator('[data-status=STOPPED]')).waitFor();
  await ann.getByLabel('Size of web').selectOption('medium');
  await ann.getByRole('button', { name: 'Resize web' }).click();
  await ann.getByRole('button', { name: 'Start web' }).click();
  await row.and(ann.locator('[data-status=ACTIVE]')).waitFor();
  const node = (await call(base, 'GET', '/v1/nodes', { key: Number(await sessionOf(ann)) })).body as Json;
  const web = (node.data as Json[])[0];
  assert.equal(web.size, 'medium');
  assert.equal(web.status, 'ACTIVE');
  assert.equal(await row.getByRole('link', { name: 'Open' }).getAttribute('href'), web.url);
  // Starting twice is refused: the gateway's 409 message is shown.
  await ann.getByRole('button', { name: 'Start web' }).click();
  await ann.getByRole('alert').waitFor({ state: 'visible' });
  assert.notEqual((await ann.getByRole('alert').textContent())?.trim(), '');
  await ann.getByRole('button', { name: 'Output web' }).click();
  await ann.locator('pre.output', { hasText: /\S/ }).waitFor();
  assert.doesNotMatch(String(await ann.locator('pre.output').textContent()), /^\(no output yet\)$/);
  await ann.screenshot({ path: path.join(IMG, 'console-nodes.png') });
}
