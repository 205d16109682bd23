// The web client's figures, in headless Chromium against a real sottod on loopback:
//   * time to interactive: from navigation to the core loaded, connected and its forms ready
//     (a new visitor), and to the chat list of a signed-in user (what the browser kept read
//     back and decrypted) on a reload
//   * 1 KiB messages browser -> browser in a 1:1 chat: latency from the sender's page pressing
//     send to the message showing in the receiver's page (both pages read one clock)
//
//   node bench/web_bench.mjs [--loads N] [--messages N] [--interval-ms MS]
// Environment as web/tests/support.mjs (`make bench` sets it).
import { browserUser, chatWith, register, startWorld, WAIT } from '../web/tests/support.mjs';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const LOADS = arg('loads', 10);
const MESSAGES = arg('messages', 300);
const INTERVAL_MS = arg('interval-ms', 50);

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const figures = (label, values) => {
  const s = [...values].sort((a, b) => a - b);
  console.log(
    `${label}: n=${s.length} p50 ${percentile(s, 50).toFixed(1)} ms, p90 ${percentile(s, 90).toFixed(1)} ms, ` +
      `p99 ${percentile(s, 99).toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms`,
  );
};

const world = await startWorld();
try {
  // Time to interactive, each load in a fresh context (nothing cached).
  const loads = [];
  for (let i = 0; i < LOADS; i++) {
    const started = performance.now();
    const user = await browserUser(world, `load${i}`);
    await user.page.locator('.status[data-online="true"]').waitFor({ timeout: WAIT });
    await user.page.getByRole('form', { name: 'Create an account' }).waitFor({ timeout: WAIT });
    loads.push(performance.now() - started);
    await user.context.close();
  }
  figures('time to interactive (page, core, connection)', loads);

  const alice = await browserUser(world, 'alice');
  const bob = await browserUser(world, 'bob');
  await register(alice);
  await register(bob);
  await chatWith(alice, 'bob');
  await alice.page.getByLabel('Message', { exact: true }).fill('hello');
  await alice.page.getByRole('button', { name: 'Send' }).click();
  await bob.page.locator('.conversations button', { hasText: 'alice' }).click({ timeout: WAIT });
  await bob.page.locator('.messages li.in', { hasText: 'hello' }).waitFor({ timeout: WAIT });

  // A signed-in user's reload: to the chat list, online.
  const reloads = [];
  for (let i = 0; i < LOADS; i++) {
    const started = performance.now();
    await alice.page.reload();
    await alice.page.locator('.conversations button', { hasText: 'bob' }).waitFor({ timeout: WAIT });
    await alice.page.locator('.status[data-online="true"]').waitFor({ timeout: WAIT });
    reloads.push(performance.now() - started);
  }
  figures('time to the chat list on a reload (signed in)', reloads);
  await chatWith(alice, 'bob');

  // The receiver notes when each stamped message first shows.
  await bob.page.evaluate(() => {
    const seen = (window.__arrivals = new Map());
    new MutationObserver(() => {
      const now = Date.now();
      for (const body of document.querySelectorAll('.messages li.in .body')) {
        const m = /^#(\d+) (\d+) /.exec(body.textContent ?? '');
        if (m && !seen.has(m[1])) seen.set(m[1], now - Number(m[2]));
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
  // The sender sends one 1 KiB text every INTERVAL_MS (open loop), stamped as it is sent.
  await alice.page.evaluate(
    ({ count, interval }) =>
      new Promise((resolve) => {
        const form = document.querySelector('form.composer');
        const input = form.querySelector('textarea');
        let i = 0;
        const timer = setInterval(() => {
          const head = `#${i} ${Date.now()} `;
          input.value = head + 'x'.repeat(1024 - head.length);
          form.requestSubmit();
          if (++i === count) {
            clearInterval(timer);
            resolve();
          }
        }, interval);
      }),
    { count: MESSAGES, interval: INTERVAL_MS },
  );
  await bob.page
    .waitForFunction((n) => window.__arrivals.size >= n, MESSAGES, { timeout: 120_000 })
    .catch(() => undefined);
  const latencies = await bob.page.evaluate(() => [...window.__arrivals.values()]);
  if (latencies.length < MESSAGES) console.log(`only ${latencies.length} of ${MESSAGES} arrived within 120 s`);
  if (latencies.length > 0) figures(`1 KiB browser -> browser, one every ${INTERVAL_MS} ms`, latencies);
} finally {
  await world.stop();
}
