import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

/**
 * One real single-node Slurm cluster (munged, slurmctld, slurmd, two fake GPUs) for the whole
 * suite: started by slurm-up.sh in a temp dir (installing slurm-wlm and munge if missing), handed
 * to the tests as SLURM_CONF, and stopped by pid in teardown, also when a test fails.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    slurmConf: string;
    slurmTmp: string;
  }
}

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export default function setup(project: TestProject): () => void {
  // The CLI (`llem exec` in every job of the CLI tests) and the echo backend, built (turbo caches).
  execFileSync(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', '--filter=@llem/cli...', '--filter=llem-backend-echo'],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 600_000,
    },
  );
  const up = spawnSync('bash', [here('slurm-up.sh')], { encoding: 'utf8', timeout: 300_000 });
  const tmp = /^SLURM_TMP=(.*)$/m.exec(up.stdout)?.[1];
  const conf = /^SLURM_CONF=(.*)$/m.exec(up.stdout)?.[1];
  const down = () => {
    if (tmp) spawnSync('bash', [here('slurm-down.sh'), tmp], { stdio: 'inherit', timeout: 60_000 });
  };
  if (up.status !== 0 || !tmp || !conf) {
    down();
    throw new Error(`slurm-up.sh failed (exit ${up.status}):\n${up.stdout}\n${up.stderr}`);
  }
  project.provide('slurmConf', conf);
  project.provide('slurmTmp', tmp);
  return down;
}
