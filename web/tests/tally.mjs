// A node:test reporter that ends with the tally lines GoogleTest prints, which
// scripts/run-ctest.sh adds up across every test program.
export default async function* tally(source) {
  let passed = 0;
  const failed = [];
  for await (const event of source) {
    if (event.data?.nesting !== 0 || event.data?.details?.type === 'suite') continue;
    if (event.type === 'test:pass') passed += 1;
    if (event.type === 'test:fail') failed.push(event.data.name);
  }
  yield `[  PASSED  ] ${passed} tests.\n`;
  if (failed.length > 0) {
    yield `[  FAILED  ] ${failed.length} tests, listed below:\n`;
    for (const name of failed) yield `[  FAILED  ] ${name}\n`;
  }
}
