// What the browser tests and the web benchmark share: a real sottod serving the web client
// on loopback, `sotto` CLI users, and browser users in headless Chromium.
//
// Environment:
//   SOTTO_SOTTOD, SOTTO_CLI   the sottod and sotto binaries
//   SOTTO_WEB_DIST            the built web client (scripts/build-web.sh)
//   SOTTO_CHROMIUM            the browser (default /usr/bin/chromium)
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const WAIT = 30_000;

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

// sottod with a temporary data dir, and Chromium. `outside` collects every request of any
// browser user that left the server's origin.
export async function startWorld() {
  const work = mkdtempSync(join(tmpdir(), 'sotto-web-'));
  const server = await startServer(work);
  const browser = await chromium.launch({
    executablePath: process.env.SOTTO_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  return {
    work,
    server,
    browser,
    outside: [],
    async stop() {
      await browser.close();
      server.process.kill('SIGTERM');
      rmSync(work, { recursive: true, force: true });
    },
  };
}

function startServer(work) {
  const dist = need('SOTTO_WEB_DIST');
  return new Promise((resolve, reject) => {
    const child = spawn(
      need('SOTTO_SOTTOD'),
      ['--listen', '127.0.0.1:0', '--data-dir', join(work, 'data'), '--web-root', dist],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: work } },
    );
    let out = '';
    const timer = setTimeout(() => reject(new Error(`sottod did not start:\n${out}`)), WAIT);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const pins = out.match(
        /connect with: sotto init (--server 127\.0\.0\.1:(\d+) --fingerprint \S+ --directory-key \S+ --vrf-key \S+)/,
      );
      if (pins) {
        clearTimeout(timer);
        resolve({ process: child, origin: `https://127.0.0.1:${pins[2]}`, init: pins[1].split(' ') });
      }
    });
    child.stderr.resume();
    child.on('exit', (code) => reject(new Error(`sottod exited (${code}):\n${out}`)));
  });
}

// A `sotto` user with a profile of their own; `device` names another device's profile.
export function cliUser(world, name, device = 'laptop') {
  const home = join(world.work, `${name}-${device}`);
  mkdirSync(home, { recursive: true });
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    SOTTO_PROFILE: join(home, 'profile'),
    SOTTO_KEY_FILE: join(home, 'store.key'),
    SOTTO_PASSWORD: `correct horse battery ${name}`,
  };
  const run = (...args) =>
    new Promise((resolve) => {
      execFile(need('SOTTO_CLI'), args, { env, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ status: error ? (error.code ?? 1) : 0, stdout, stderr }),
      );
    });
  return { name, run };
}

// The run's standard output; fails the test on another status.
export async function ok(result, what) {
  const r = await result;
  assert.equal(r.status, 0, `${what}: status ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// A browser user in a context of their own, on the web client's page (at `path`).
export async function browserUser(world, name, viewport = { width: 1200, height: 800 }, path = '/') {
  const { origin } = world.server;
  const context = await world.browser.newContext({ ignoreHTTPSErrors: true, viewport });
  const page = await context.newPage();
  // A blob: URL of the origin (a decrypted file shown or saved) is the page's own memory.
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith(`blob:${origin}/`)) world.outside.push(url);
  });
  page.on('websocket', (ws) => {
    if (!ws.url().startsWith(`${origin.replace('https:', 'wss:')}/`)) world.outside.push(ws.url());
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const response = await page.goto(`${origin}${path}`);
  return { name, context, page, response, errors };
}

// Creates `user`'s account from the page's form, and waits for the chat list.
export async function register(user) {
  const form = user.page.getByRole('form', { name: 'Create an account' });
  await form.getByLabel('Username').fill(user.name);
  await form.getByLabel('E-mail').fill(`${user.name}@example.org`);
  await form.getByLabel('Password').fill(`correct horse battery ${user.name}`);
  await form.getByRole('button', { name: 'Create account' }).click();
  await user.page.locator('.sidebar .me', { hasText: user.name }).waitFor({ timeout: WAIT });
}

// Starts (or opens) the 1:1 chat with `username` from the chat list.
export async function chatWith(user, username) {
  await user.page.getByLabel('Chat with').fill(username);
  await user.page.getByRole('button', { name: 'Chat', exact: true }).click();
  await user.page.locator('.pane h2', { hasText: username }).waitFor({ timeout: WAIT });
}
