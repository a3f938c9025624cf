import { isInterruptedError } from '@llem/core';
import type { Command } from 'commander';
import { compose, createRegistry, loadBackendCatalog } from '../compose.js';
import { releaseEarlySignalHandlers } from '../early-signals.js';
import type { Output } from '../output.js';
import { resolveSettings } from '../settings.js';

/**
 * `llem exec <exec-file> [--index n]`: what every Slurm job runs on its compute node. Measures
 * one experiment-cycle of the file written by `llem run --runner slurm`, with this node's energy
 * meter and backend, into the study's shared store and results directory.
 */
export async function execCommand(command: Command, out: Output): Promise<number> {
  const { execExitCode, executeFromFile, execIndex, jobContextLine, readExecFile, slurmGpuIndices } =
    await import('@llem/runner-slurm');
  const { installInterruptHandler } = await import('@llem/runner-node');
  const flags = command.opts<{ index?: number }>();
  const file = await readExecFile(command.args[0]!);
  const run = file.runs[execIndex(file, flags.index)]!;
  out.line(jobContextLine(file, flags.index));
  const settings = resolveSettings({ store: file.store.name, stateDir: file.store.dir });
  const registry = createRegistry({ ...settings, plugins: [...settings.plugins, ...file.plugins] });
  const backends = await loadBackendCatalog(registry, [String(run.config.backend)]);
  const energy = run.config.energy as { enabled?: boolean } | undefined;
  const gpus = (run.config.gpus as number[] | null | undefined) ?? slurmGpuIndices();
  const composition = await compose({
    settings,
    registry,
    backends,
    energyConfig: energy?.enabled ? (run.config.energy as never) : undefined,
    gpuIndices: gpus ?? undefined,
  });
  // scancel sends SIGTERM: the workload is stopped and the state marked interrupted.
  const interrupt = installInterruptHandler({ onFirst: (m) => out.info(m), onSecond: (m) => out.info(m) });
  releaseEarlySignalHandlers();
  try {
    const report = await executeFromFile(
      file,
      { store: composition.store, runner: composition.runner, backends, meter: composition.energyMeter },
      {
        index: flags.index,
        signal: interrupt.signal,
        onProgress: (event) => {
          if (event.type === 'step')
            out.line(`llem exec: ${event.step}${event.detail ? ` ${event.detail}` : ''}`);
          else if (event.type === 'log') out.line(event.line);
        },
      },
    );
    out.line(`llem exec: ${report.experimentId} ${report.status}${report.error ? `: ${report.error}` : ''}`);
    return execExitCode(report);
  } catch (error) {
    if (isInterruptedError(error)) {
      out.line('llem exec: interrupted');
      return 130;
    }
    throw error;
  } finally {
    interrupt.dispose();
    await composition.close();
  }
}
