// A second llem process for the concurrency test: runs a study on a shared store, prints its counts.
import { runStudy } from '../../../src/orchestration/index.js';
import { JsonFileTestStore } from './json-file-store.js';
import { ProcessGroupTestRunner } from './process-runner.js';
import { catalogOf, scriptBackend } from './script-backend.js';

const { doc, stateDir, ledger, resultsDir } = JSON.parse(process.argv[2]!);
const summary = await runStudy(doc, {
  store: new JsonFileTestStore(stateDir),
  runner: new ProcessGroupTestRunner(),
  backends: catalogOf(scriptBackend({ ledger })),
  resultsDir,
  writeTable: false,
});
console.log(JSON.stringify(summary.counts));
