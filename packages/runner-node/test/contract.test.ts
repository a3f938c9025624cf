import { describeRunnerContract } from '@llem/core/testing';
import { ProcessGroupRunner } from '../src/index.js';

describeRunnerContract('ProcessGroupRunner', () => new ProcessGroupRunner());
