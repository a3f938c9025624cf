import type { ExperimentState } from '@llem/core';
import { SlurmCommands } from './slurm-commands.js';

/**
 * For `llem status`: the Slurm state of each experiment's recorded job (`RUNNING`, `PENDING`,
 * `COMPLETED`, ...), keyed by experiment id. Jobs Slurm no longer lists are left out; when the
 * Slurm client is missing or the controller does not answer, the map is empty.
 */
export async function slurmJobStates(
  states: readonly ExperimentState[],
  commands: SlurmCommands = new SlurmCommands(),
): Promise<Map<string, string>> {
  const withJobs = states.filter((s) => s.scheduler?.name === 'slurm');
  const out = new Map<string, string>();
  if (withJobs.length === 0) return out;
  try {
    const queue = await commands.squeue(withJobs.map((s) => s.scheduler!.jobId));
    for (const state of withJobs) {
      const job = queue.get(state.scheduler!.jobId);
      if (job)
        out.set(
          state.experimentId,
          job.reason && job.state === 'PENDING' ? `PENDING (${job.reason})` : job.state,
        );
    }
  } catch {
    // No Slurm here (status read on a laptop): the recorded job ids are still shown.
  }
  return out;
}
