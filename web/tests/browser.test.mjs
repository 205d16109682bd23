// The web client in headless Chromium against a real sottod on loopback, with a `sotto` CLI
// user beside the browser users: 1:1 and group chats both ways, a key-change warning, and the
// page's promises (nothing leaves the origin, no cookie, a strict CSP). Screenshots of the
// main screens go to SOTTO_WEB_ARTIFACTS; the rest of the environment is support.mjs's.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WAIT, browserUser, chatWith, cliUser, ok, register, startWorld } from './support.mjs';

const ARTIFACTS = process.env.SOTTO_WEB_ARTIFACTS || join(tmpdir(), 'sotto-web-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

let world;

// Runs `recv --wait` until `text` shows, or fails after WAIT.
async function cliReceives(user, text) {
  const deadline = Date.now() + WAIT;
  let seen = '';
  while (Date.now() < deadline) {
    seen += await ok(user.run('recv', '--wait', '5'), `${user.name} recv`);
    if (seen.includes(text)) return seen;
  }
  assert.fail(`${user.name} never received "${text}"; got:\n${seen}`);
}

async function openConversation(user, title) {
  await user.page.locator('.conversations button', { hasText: title }).click({ timeout: WAIT });
  await user.page.locator('.pane h2', { hasText: title }).waitFor({ timeout: WAIT });
}

async function send(user, text) {
  await user.page.getByLabel('Message', { exact: true }).fill(text);
  await user.page.getByRole('button', { name: 'Send' }).click();
  await user.page.locator('.messages li.out', { hasText: text }).waitFor({ timeout: WAIT });
}

// The records the page keeps in IndexedDB, their bytes read as Latin-1 text.
const keptRecords = (user) =>
  user.page.evaluate(async () => {
    const ask = (r) =>
      new Promise((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
    const db = await ask(indexedDB.open('sotto'));
    const records = await ask(db.transaction('log').objectStore('log').getAll());
    db.close();
    const text = records.map((r) => new TextDecoder('latin1').decode(r.data)).join('');
    return { count: records.length, bytes: text.length, text };
  });

const shot = (user, name) =>
  user.page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

before(async () => {
  world = await startWorld();
});

after(async () => {
  await world?.stop();
});

test('the page is served with a strict policy and starts the core', async () => {
  const alice = await browserUser(world, 'probe');
  const headers = alice.response.headers();
  const csp = headers['content-security-policy'] ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  assert.match(csp, /connect-src 'self'(;|$)/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  // The bundle's script and stylesheet carry their integrity hashes.
  const html = await alice.response.text();
  assert.match(html, /<script[^>]+integrity="sha384-[A-Za-z0-9+/=]+"/);
  assert.match(html, /<link rel="stylesheet"[^>]+integrity="sha384-[A-Za-z0-9+/=]+"/);
  assert.doesNotMatch(html, /<script>(?!<\/script>)/, 'no inline script');
  await alice.page.getByRole('form', { name: 'Create an account' }).waitFor({ timeout: WAIT });
  await alice.page.locator('.status[data-online="true"]').waitFor({ timeout: WAIT });
  await shot(alice, 'welcome');
  assert.deepEqual(alice.errors, []);
  await alice.context.close();
});

test('browser users chat with a sotto user, 1:1 and in a group', async () => {
  const alice = await browserUser(world, 'alice');
  const bob = await browserUser(world, 'bob');
  const carol = cliUser(world, 'carol');
  await ok(carol.run('--json', 'init', ...world.server.init, '--username', 'carol', '--email', 'carol@example.org'), 'carol init');

  await register(alice);
  await register(bob);

  // 1:1: alice (browser) and carol (terminal), both ways.
  await chatWith(alice, 'carol');
  await send(alice, 'hello carol, this is alice in a browser');
  await cliReceives(carol, 'hello carol, this is alice in a browser');
  await ok(carol.run('send', 'alice', 'hi alice, carol on the terminal here'), 'carol send');
  await alice.page.locator('.messages li.in', { hasText: 'hi alice, carol on the terminal here' })
    .waitFor({ timeout: WAIT });
  // carol's device fetched alice's message: its delivery receipt reaches the page.
  await alice.page.locator('.messages li.out[data-state="delivered"], .messages li.out[data-state="read"]',
    { hasText: 'hello carol' }).waitFor({ timeout: WAIT });
  await shot(alice, 'chat-1to1');

  // A group of the three: everyone reads everyone.
  await alice.page.getByLabel('Group name').fill('Lunch');
  await alice.page.getByLabel('Members').fill('bob, carol');
  await alice.page.getByRole('button', { name: 'Create group' }).click();
  await alice.page.locator('.pane h2', { hasText: 'Lunch' }).waitFor({ timeout: WAIT });
  await send(alice, 'noon at the usual place?');
  await openConversation(bob, 'Lunch');
  await bob.page.locator('.messages li.in', { hasText: 'noon at the usual place?' }).waitFor({ timeout: WAIT });
  await send(bob, 'yes, see you there');
  await alice.page.locator('.messages li.in', { hasText: 'yes, see you there' }).waitFor({ timeout: WAIT });
  const got = await cliReceives(carol, 'yes, see you there');
  assert.match(got, /noon at the usual place\?/);
  await ok(carol.run('send', '--group', 'Lunch', 'count me in'), 'carol send to the group');
  await alice.page.locator('.messages li.in', { hasText: 'count me in' }).waitFor({ timeout: WAIT });
  await bob.page.locator('.messages li.in', { hasText: 'count me in' }).waitFor({ timeout: WAIT });
  await shot(alice, 'chat-group');
  await shot(bob, 'chat-group-bob');

  // The conversation list on a phone-sized window.
  await bob.page.setViewportSize({ width: 390, height: 844 });
  await bob.page.getByRole('button', { name: '‹ Chats' }).click();
  await bob.page.locator('.conversations button', { hasText: 'Lunch' }).waitFor({ timeout: WAIT });
  await shot(bob, 'phone-chat-list');

  // carol adds a device: alice's next look at carol's keys warns her.
  const carolPhone = cliUser(world, 'carol', 'phone');
  await ok(carolPhone.run('--json', 'login', ...world.server.init, '--username', 'carol'), 'carol login');
  await openConversation(alice, 'carol');
  await alice.page.getByRole('button', { name: 'Safety number' }).click();
  await alice.page.locator('.warning', { hasText: "carol's keys have changed" }).waitFor({ timeout: WAIT });
  await alice.page.locator('.safety', { hasText: /carol: (\d{5} ){11}\d{5}/ }).waitFor({ timeout: WAIT });
  await shot(alice, 'key-change-warning');

  // alice reloads: the browser kept her device, her chats and their history.
  await alice.page.reload();
  await alice.page.locator('.sidebar .me', { hasText: 'alice' }).waitFor({ timeout: WAIT });
  await openConversation(alice, 'Lunch');
  await alice.page.locator('.messages li.in', { hasText: 'count me in' }).waitFor({ timeout: WAIT });
  await ok(carol.run('send', 'alice', 'still there after the reload?'), 'carol send after the reload');
  await openConversation(alice, 'carol');
  await alice.page.locator('.messages li.in', { hasText: 'still there after the reload?' })
    .waitFor({ timeout: WAIT });
  // What it kept is encrypted: no message text and no name in IndexedDB's records.
  const kept = await keptRecords(alice);
  assert.ok(kept.count > 0 && kept.bytes > 1000, `records kept: ${JSON.stringify(kept)}`);
  assert.deepEqual(['count me in', 'carol', 'Lunch'].filter((t) => kept.text.includes(t)), []);
  await shot(alice, 'after-reload');

  // A second tab of the same browser does not start a second engine on the same store.
  const second = await alice.context.newPage();
  await second.goto(`${world.server.origin}/`);
  await second.locator('.error', { hasText: 'open in another tab' }).waitFor({ timeout: WAIT });
  await second.close();

  // Logging out deletes everything the browser kept.
  await alice.page.getByRole('button', { name: 'Account', exact: true }).click();
  await alice.page.getByRole('button', { name: 'Log out' }).click();
  await alice.page.getByRole('form', { name: 'Create an account' }).waitFor({ timeout: WAIT });
  assert.equal((await keptRecords(alice)).count, 0, 'records kept after logging out');

  // The page's promises.
  assert.deepEqual(world.outside, [], 'requests that left the origin');
  assert.deepEqual(await alice.context.cookies(), [], 'cookies');
  assert.deepEqual(alice.errors, []);
  assert.deepEqual(bob.errors, []);
  await alice.context.close();
  await bob.context.close();
});
