#!/usr/bin/env node
// Adds up vitest's JSON report and pytest's JUnit XML into one line: "N passed, N failed".
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.test-reports';
let passed = 0;
let failed = 0;
let skipped = 0;

const vitestPath = join(dir, 'vitest.json');
if (existsSync(vitestPath)) {
  const report = JSON.parse(readFileSync(vitestPath, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0);
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  console.log(`vitest: ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
} else {
  failed += 1;
  console.log('vitest: no report (the run crashed)');
}

const pytestPath = join(dir, 'pytest.xml');
if (existsSync(pytestPath)) {
  const xml = readFileSync(pytestPath, 'utf8');
  const suite = /<testsuite\b[^>]*>/.exec(xml)?.[0] ?? '';
  const attr = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite)?.[1] ?? 0);
  const p = {
    tests: attr('tests'),
    failures: attr('failures'),
    errors: attr('errors'),
    skipped: attr('skipped'),
  };
  const ok = p.tests - p.failures - p.errors - p.skipped;
  passed += ok;
  failed += p.failures + p.errors;
  skipped += p.skipped;
  console.log(`pytest: ${ok} passed, ${p.failures + p.errors} failed`);
} else {
  failed += 1;
  console.log('pytest: no report (the run crashed)');
}

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
