// The core's MLS vector tests in headless Chromium: each program named on the command line
// (a test program of the browser build linked for a web page, its .js beside its .wasm and
// .data) is loaded by a page at https://sotto.test/, served from its build directory through
// Playwright's routing (no server). Its GoogleTest output is printed as it comes, and the
// test fails unless the program exits 0, GoogleTest reports a nonzero count of tests passed
// and none failed, and every vector file in SOTTO_MLS_VECTORS has its tally line with no
// failure (cases run, or none that this build can run; never a suite 3 case skipped).
//
//   node tests/mls_vectors.test.mjs BUILD/tests/mls_tests_browser.js
//
// Environment: SOTTO_MLS_VECTORS (the vector files the program reads), SOTTO_CHROMIUM (the
// browser, default /usr/bin/chromium). A browser that does not start fails the test.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const ORIGIN = 'https://sotto.test';
const WAIT = 120_000;

const programs = process.argv.slice(2);
const vectorsDir = process.env.SOTTO_MLS_VECTORS;

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.SOTTO_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
});

after(async () => {
  await browser?.close();
});

// The page that runs `script`: Module's output goes to the console, and the exit status to
// console.debug, which the program's own output never uses.
const pageHtml = (script) => `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>${script}</title>
<script>
  var Module = {
    arguments: ['--gtest_color=no'],
    print: (line) => console.log(line),
    printErr: (line) => console.error(line),
    onExit: (status) => console.debug('exit', status),
  };
</script>
<script src="${script}"></script>
`;

// Runs one program in a fresh page; gives its exit status and its output lines.
async function run(program) {
  const dir = dirname(program);
  const script = basename(program);
  const page = await browser.newPage();
  const unserved = [];
  await page.route(`${ORIGIN}/**`, (route) => {
    const name = new URL(route.request().url()).pathname.slice(1);
    if (name === '') return route.fulfill({ contentType: 'text/html', body: pageHtml(script) });
    const file = join(dir, name);
    if (/^[\w.-]+\.(js|wasm|data)$/.test(name) && existsSync(file)) {
      return route.fulfill({ path: file });
    }
    unserved.push(name);
    return route.fulfill({ status: 404 });
  });
  const lines = [];
  try {
    const status = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${script}: no exit within ${WAIT} ms`)),
        WAIT,
      );
      page.on('pageerror', (e) => {
        clearTimeout(timer);
        reject(new Error(`${script}: ${e.message}`));
      });
      page.on('console', (message) => {
        const text = message.text();
        if (message.type() === 'debug' && text.startsWith('exit ')) {
          clearTimeout(timer);
          resolve(Number(text.slice('exit '.length)));
          return;
        }
        lines.push(text);
        // run-ctest.sh lists each distinct "vectors " line of the run: the label keeps these
        // apart from the same program's lines under node.
        const shown = text.replace(/^(vectors \S+):/, '$1 (Chromium):');
        (message.type() === 'error' ? process.stderr : process.stdout).write(`${shown}\n`);
      });
      page.goto(`${ORIGIN}/`).catch(reject);
    });
    assert.deepEqual(unserved, [], 'the page asked for files that are not there');
    return { status, lines };
  } finally {
    await page.close();
  }
}

// Checks the tallies expect_vectors prints: one line for each file, no failure, and cases
// run unless the file says none can run in this build.
function checkVectorTallies(lines) {
  const files = readdirSync(vectorsDir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length > 0, `no vector files in ${vectorsDir}`);
  let passed = 0;
  for (const file of files) {
    const name = `mls/${file}`;
    const tallies = lines
      .map((line) => line.match(/^vectors (\S+): (\d+) passed, (\d+) failed, (\d+) skipped/))
      .filter((m) => m && m[1] === name);
    assert.equal(tallies.length, 1, `${name}: one tally line`);
    const [line, , casesPassed, casesFailed] = tallies[0];
    assert.equal(Number(casesFailed), 0, line);
    assert.doesNotMatch(line, /suite 3 not supported/);
    if (Number(casesPassed) === 0) {
      assert.ok(lines.includes(`vectors ${name}: no case can run in this build`), line);
    }
    passed += Number(casesPassed);
  }
  assert.ok(passed > 0, 'no vector case passed');
}

test('the programs and the vector files are named', () => {
  assert.ok(programs.length > 0, 'usage: mls_vectors.test.mjs PROGRAM.js...');
  assert.ok(vectorsDir, 'SOTTO_MLS_VECTORS is not set');
});

for (const program of programs) {
  test(`${basename(program)} passes in Chromium`, { timeout: WAIT + 30_000 }, async () => {
    const { status, lines } = await run(program);
    const passed = lines.map((line) => line.match(/^\[  PASSED  \] (\d+) tests?\./)).find(Boolean);
    assert.ok(passed && Number(passed[1]) > 0, 'GoogleTest reports no test passed');
    assert.equal(lines.filter((line) => line.startsWith('[  FAILED  ]')).length, 0);
    assert.equal(status, 0, 'exit status');
    checkVectorTallies(lines);
  });
}
