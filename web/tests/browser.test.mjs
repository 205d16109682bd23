// The web client in headless Chromium against a real sottod on loopback, with a `sotto` CLI
// user beside the browser users: 1:1 and group chats both ways, files (an image shown, a file
// dropped), replies, edits and deletes, contacts, a key-change warning, a browser linked by
// QR code, export and account deletion, and the page's promises (nothing leaves the origin,
// one HttpOnly cookie, a strict CSP). Screenshots of the main screens go to
// SOTTO_WEB_ARTIFACTS; the rest of the environment is support.mjs's.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import jsQR from 'jsqr';
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

// Runs `--json recv --wait` until a message satisfies `match`, and gives it.
async function cliReceivesJson(user, match, what) {
  const deadline = Date.now() + WAIT;
  while (Date.now() < deadline) {
    const out = await ok(user.run('--json', 'recv', '--wait', '5'), `${user.name} recv`);
    const found = out.split('\n').filter(Boolean).map((line) => JSON.parse(line)).find(match);
    if (found) return found;
  }
  assert.fail(`${user.name} never received ${what}`);
}

// The one cookie the page may have: the file API's session, out of reach of its scripts.
async function assertSessionCookie(user) {
  const cookies = await user.context.cookies();
  assert.equal(cookies.length, 1, `cookies: ${JSON.stringify(cookies)}`);
  const { name, path, httpOnly, secure, sameSite } = cookies[0];
  assert.deepEqual(
    { name, path, httpOnly, secure, sameSite },
    { name: 'sotto_session', path: '/v1/', httpOnly: true, secure: true, sameSite: 'Strict' },
  );
  assert.equal(await user.page.evaluate(() => document.cookie), '', 'a cookie the page can read');
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

// The records the page keeps in IndexedDB, their bytes read as Latin-1 text (none when the
// database is gone).
const keptRecords = (user) =>
  user.page.evaluate(async () => {
    const ask = (r) =>
      new Promise((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
    if (!(await indexedDB.databases()).some((d) => d.name === 'sotto')) return { count: 0, bytes: 0, text: '' };
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

  // Files go through the file API with the session cookie, which the page asks for only
  // when it first moves a file.
  assert.deepEqual(await alice.context.cookies(), [], 'a cookie before any file');
  // alice sends an image to the group: it shows in bob's browser, carol saves it from the
  // terminal, byte for byte.
  const image = await alice.page.screenshot({ clip: { x: 0, y: 0, width: 64, height: 48 } });
  await alice.page.getByLabel('Attach files').setInputFiles({ name: 'lunch.png', mimeType: 'image/png', buffer: image });
  await alice.page.locator('.messages li.out img.preview[alt="lunch.png"]').waitFor({ timeout: WAIT });
  await assertSessionCookie(alice);
  const preview = bob.page.locator('.messages li.in img.preview[alt="lunch.png"]');
  await preview.waitFor({ timeout: WAIT });
  await bob.page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await preview.elementHandle());
  assert.deepEqual(await preview.evaluate((img) => [img.naturalWidth, img.naturalHeight]), [64, 48]);
  const sent = await cliReceivesJson(carol, (m) => m.file?.name === 'lunch.png', 'the image');
  const saved = join(world.work, 'carol-lunch.png');
  await ok(carol.run('file', 'get', sent.message_id, '--output', saved), 'carol file get');
  assert.deepEqual(readFileSync(saved), image);
  await shot(bob, 'chat-image');
  // bob drops a file on the conversation; alice downloads it.
  const dropped = await bob.page.evaluateHandle(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(['bring an umbrella\n'], 'notes.txt', { type: 'text/plain' }));
    return transfer;
  });
  await bob.page.locator('.pane').dispatchEvent('drop', { dataTransfer: dropped });
  await bob.page.locator('.messages li.out .file', { hasText: 'notes.txt' }).waitFor({ timeout: WAIT });
  await alice.page.getByRole('button', { name: /Download notes\.txt/ }).click({ timeout: WAIT });
  const [download] = await Promise.all([
    alice.page.waitForEvent('download', { timeout: WAIT }),
    alice.page.getByRole('link', { name: /Save notes\.txt/ }).click({ timeout: WAIT }),
  ]);
  assert.equal(download.suggestedFilename(), 'notes.txt');
  assert.equal(readFileSync(await download.path(), 'utf8'), 'bring an umbrella\n');

  // Replies, edits, deletes and the timer, made in the page, for everyone.
  await bob.page.locator('.messages li.in', { hasText: 'noon at the usual place?' })
    .getByRole('button', { name: 'Reply' }).click();
  await send(bob, 'make it half past');
  const reply = alice.page.locator('.messages li.in', { hasText: 'make it half past' });
  await reply.locator('.quote', { hasText: 'you: noon at the usual place?' }).waitFor({ timeout: WAIT });
  const answered = await cliReceivesJson(carol, (m) => m.text === 'make it half past', 'the reply');
  assert.ok(answered.reply_to, `a reply: ${JSON.stringify(answered)}`);
  await alice.page.locator('.messages li.out', { hasText: 'noon at the usual place?' })
    .getByRole('button', { name: 'Edit' }).click();
  await alice.page.getByLabel('Message', { exact: true }).fill('noon at the new place?');
  await alice.page.getByRole('button', { name: 'Send' }).click();
  await bob.page.locator('.messages li.in', { hasText: 'noon at the new place?' })
    .locator('.meta', { hasText: 'edited' }).waitFor({ timeout: WAIT });
  await bob.page.locator('.messages li.out .quote', { hasText: 'alice: noon at the new place?' })
    .waitFor({ timeout: WAIT });
  const remove = alice.page.locator('.messages li.out', { hasText: 'noon at the new place?' })
    .getByRole('button', { name: /^Delete/ });
  await remove.click();
  await remove.click();  // "Delete for everyone?"
  await bob.page.locator('.messages li.in .body', { hasText: 'This message was deleted.' }).waitFor({ timeout: WAIT });
  assert.equal(await bob.page.locator('.messages li', { hasText: 'noon at the new place?' }).count(), 0);
  await alice.page.getByLabel('Disappearing messages').selectOption('30');
  await bob.page.locator('.messages li', { hasText: 'Messages now disappear after 30 s.' }).waitFor({ timeout: WAIT });
  assert.equal(await bob.page.getByLabel('Disappearing messages').inputValue(), '30');
  await alice.page.getByLabel('Disappearing messages').selectOption('0');
  await bob.page.locator('.messages li', { hasText: 'Disappearing messages are off.' }).waitFor({ timeout: WAIT });
  await shot(bob, 'chat-reply-edit-delete');

  // bob keeps carol as a contact (a key-directory lookup, checked in the page) and starts a
  // chat from there; an unknown name is refused.
  await bob.page.getByRole('button', { name: 'Contacts' }).click();
  await bob.page.getByLabel('Contact username').fill('nobody-here');
  await bob.page.getByRole('button', { name: 'Add', exact: true }).click();
  await bob.page.locator('.error', { hasText: 'Could not add nobody-here' }).waitFor({ timeout: WAIT });
  await bob.page.getByLabel('Contact username').fill('carol');
  await bob.page.getByRole('button', { name: 'Add', exact: true }).click();
  const carolEntry = bob.page.locator('.contacts li[data-contact="carol"]');
  await carolEntry.waitFor({ timeout: WAIT });
  assert.match(await carolEntry.textContent(), /1 device, checked against the key directory/);
  await shot(bob, 'contacts');
  await carolEntry.getByRole('button', { name: 'Chat' }).click();
  await bob.page.locator('.pane h2', { hasText: 'carol' }).waitFor({ timeout: WAIT });
  await send(bob, 'hi carol, bob here');
  await cliReceives(carol, 'hi carol, bob here');

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

  // alice adds a second browser with a code from the first; it joins her conversations.
  await alice.page.getByRole('button', { name: 'Account', exact: true }).click();
  await alice.page.getByRole('button', { name: 'Link a new device' }).click();
  const code = (await alice.page.locator('.link-code .code').textContent({ timeout: WAIT })).trim();
  // The QR code beside it is the page's address with the code in the fragment: the new
  // browser opens it (as a phone's camera would) and finds the code filled in.
  const qr = await alice.page.getByRole('img', { name: 'Link code as a QR code' }).evaluate((canvas) => {
    const { data, width, height } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    return { data: Array.from(data), width, height };
  });
  const scanned = jsQR(Uint8ClampedArray.from(qr.data), qr.width, qr.height);
  await shot(alice, 'link-device-qr');
  assert.ok(scanned, 'the QR code reads');
  assert.equal(scanned.data, `${world.server.origin}/#link=${encodeURIComponent(code)}`);
  const laptop = await browserUser(world, 'alice-laptop', undefined, `/${new URL(scanned.data).hash}`);
  const link = laptop.page.getByRole('form', { name: 'Link this browser' });
  assert.equal(await link.getByLabel('Link code').inputValue({ timeout: WAIT }), code);
  assert.equal(await laptop.page.evaluate(() => location.hash), '', 'the code left in the address');
  await link.getByRole('button', { name: 'Link this browser' }).click();
  await alice.page.locator('.link-code', { hasText: 'Linked' }).waitFor({ timeout: WAIT });
  await laptop.page.locator('.sidebar .me', { hasText: 'alice' }).waitFor({ timeout: WAIT });
  await ok(carol.run('send', '--group', 'Lunch', 'welcome, second browser'), 'carol send to both browsers');
  await openConversation(laptop, 'Lunch');
  await laptop.page.locator('.messages li.in', { hasText: 'welcome, second browser' })
    .waitFor({ timeout: WAIT });
  await shot(laptop, 'linked-browser');

  // Logging out deletes everything the browser kept, and the cookie.
  await alice.page.getByRole('button', { name: 'Log out' }).click();
  await alice.page.getByRole('form', { name: 'Create an account' }).waitFor({ timeout: WAIT });
  assert.equal((await keptRecords(alice)).count, 0, 'records kept after logging out');

  // bob takes his data and goes: the export is the server's JSON about him, and after the
  // deletion the key directory no longer has him and his browser keeps nothing.
  await bob.page.setViewportSize({ width: 1200, height: 800 });
  await bob.page.getByRole('button', { name: 'Account', exact: true }).click();
  const [exported] = await Promise.all([
    bob.page.waitForEvent('download', { timeout: WAIT }),
    bob.page.getByRole('button', { name: 'Download my data' }).click(),
  ]);
  const data = JSON.parse(readFileSync(await exported.path(), 'utf8'));
  assert.equal(data.account?.username, 'bob', `the export: ${JSON.stringify(data).slice(0, 300)}`);
  assert.ok(Array.isArray(data.devices) && data.devices.length === 1, 'one device in the export');
  const erase = bob.page.getByRole('form', { name: 'Delete account' });
  await erase.getByLabel('Password').fill('correct horse battery bob');
  await erase.getByRole('button', { name: 'Delete my account' }).click();
  await bob.page.getByRole('heading', { name: 'Your account was deleted.' }).waitFor({ timeout: WAIT });
  assert.equal((await keptRecords(bob)).count, 0, 'records kept after the deletion');
  assert.deepEqual(await bob.context.cookies(), [], 'cookies after the deletion');
  const gone = await carol.run('contacts', 'add', 'bob');
  assert.notEqual(gone.status, 0, `bob is still in the key directory: ${gone.stdout}`);

  // The page's promises.
  assert.deepEqual(world.outside, [], 'requests that left the origin');
  assert.deepEqual(await alice.context.cookies(), [], 'cookies after logging out');
  assert.deepEqual(alice.errors, []);
  assert.deepEqual(bob.errors, []);
  assert.deepEqual(laptop.errors, []);
  await alice.context.close();
  await bob.context.close();
  await laptop.context.close();
});
