/**
 * `npm test`: every tier in order — unit, integration (PGlite always; Postgres too when
 * TEST_DATABASE_URL is set), then the built app in Chromium. Without Chromium the browser tier
 * is skipped and says why, unless CI=true, where a missing browser fails the run.
 * Ends with one line: `tests: N passed, N failed, N skipped`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.join(import.meta.dirname, '..');
const resultsDir = path.join(root, 'test-results');
fs.mkdirSync(resultsDir, { recursive: true });
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ci = process.env.CI === 'true' || process.env.CI === '1';

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}
const total: Counts = { passed: 0, failed: 0, skipped: 0 };
let broken = false;

function runTier(project: string): void {
  const output = path.join(resultsDir, `vitest-${project}.json`);
  fs.rmSync(output, { force: true });
  console.log(`\n── ${project} tests ──`);
  const result = spawnSync(
    process.execPath,
    [vitest, 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${output}`],
    { cwd: root, stdio: 'inherit' },
  );
  if (!fs.existsSync(output)) {
    console.error(`${project}: vitest produced no results (exit ${result.status})`);
    broken = true;
    return;
  }
  const report = JSON.parse(fs.readFileSync(output, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
    numTotalTests: number;
  };
  total.passed += report.numPassedTests;
  total.failed += report.numFailedTests;
  total.skipped += report.numPendingTests + report.numTodoTests;
  if (result.status !== 0 && report.numFailedTests === 0) broken = true; // e.g. a file failed to load
}

runTier('unit');
runTier('integration');
if (fs.existsSync(chromium)) {
  console.log('\n── building the app for the browser tier ──');
  const build = spawnSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (build.status !== 0) broken = true;
  else runTier('e2e');
} else if (ci) {
  console.error(`\nbrowser tier: Chromium not found at ${chromium} and CI=true: failing (install it: apt-get install -y chromium)`);
  broken = true;
} else {
  console.log(`\nbrowser tier SKIPPED: Chromium not found at ${chromium} (install Debian's chromium or set CHROMIUM_PATH)`);
}

console.log('');
console.log(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 || broken ? 1 : 0);
