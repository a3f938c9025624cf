import { type CommandExecutor, execCommand } from './slurm-commands.js';

/** One line of `llem doctor`. */
export interface SlurmCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * What `llem doctor` says about Slurm: the client commands and their version, whether the
 * controller answers, and which GPU gres the nodes offer.
 */
export async function checkSlurm(
  exec: CommandExecutor = execCommand,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SlurmCheck[]> {
  const run = (argv: string[]) => exec(argv, { env });
  const version = await run(['sbatch', '--version']);
  if (version.code !== 0)
    return [
      {
        name: 'slurm client',
        ok: false,
        detail:
          version.code === 127
            ? 'sbatch not found on PATH (install slurm-client, or load the cluster module)'
            : `sbatch --version failed: ${lastLine(version.stderr || version.stdout)} (check SLURM_CONF)`,
      },
    ];
  const checks: SlurmCheck[] = [{ name: 'slurm client', ok: true, detail: version.stdout.trim() }];
  const ping = await run(['scontrol', 'ping']);
  const up = ping.code === 0 && /\bUP\b/.test(ping.stdout);
  checks.push({
    name: 'slurm controller',
    ok: up,
    detail: up
      ? ping.stdout.trim().split('\n')[0]!
      : `not reachable: ${lastLine(ping.stderr || ping.stdout)} (check SLURM_CONF and munge)`,
  });
  if (!up) return checks;
  const gres = await run(['sinfo', '-h', '-N', '-o', '%N %G']);
  const gpus = gres.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /\bgpu[:(]/.test(l));
  checks.push({
    name: 'slurm GPU gres',
    ok: gpus.length > 0,
    detail:
      gpus.length > 0
        ? `${gpus.length} node(s) with gpu gres: ${gpus.slice(0, 4).join(', ')}${gpus.length > 4 ? ', ...' : ''}`
        : 'no node offers gres gpu (jobs asking for GPUs will be refused)',
  });
  return checks;
}

/** Slurm clients print their fatal reason last. */
function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}
