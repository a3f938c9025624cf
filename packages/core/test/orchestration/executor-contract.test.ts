import { LocalExecutor } from '../../src/orchestration/index.js';
import { describeExecutorContract, SCRIPT_BACKEND_MODULE } from '../../src/testing/index.js';
import { JsonFileTestStore } from './helpers/json-file-store.js';
import { ProcessGroupTestRunner } from './helpers/process-runner.js';

// The local executor measures every run here, through the composition's orchestrator.
describeExecutorContract('local', () => ({
  executor: () => new LocalExecutor(),
  store: (dir) => ({ store: new JsonFileTestStore(dir), location: null }),
  runner: new ProcessGroupTestRunner(),
  plugins: [SCRIPT_BACKEND_MODULE],
}));
