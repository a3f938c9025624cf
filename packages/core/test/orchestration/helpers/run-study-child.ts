// A second llem process for the concurrency test: runs a study on a shared store, prints its counts.
import { runStudy } from '../../../src/orchestration/index.js';
import { catalogOf, scriptBackend } from '../../../src/testing/script-backend.js';
import { JsonFileTestStore } from './json-file-store.js';
import { ProcessGroupTestRunner } from './process-runner.js';

// The study's `script.ledger` counts the windows this process measures.
const { doc, stateDir, resultsDir } = JSON.parse(process.argv[2]!);
const summary = await runStudy(doc, {
  store: new JsonFileTestStore(stateDir),
  runner: new ProcessGroupTestRunner(),
  backends: catalogOf(scriptBackend()),
  resultsDir,
  writeTable: false,
});
console.log(JSON.stringify(summary.counts));
