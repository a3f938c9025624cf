import { readFile } from 'node:fs/promises';
import { ConfigError, isMapping, messageOf } from '@llem/core';
import type { Command } from 'commander';
import { composeLlem, createRegistry } from '../compose.js';
import { releaseEarlySignalHandlers } from '../early-signals.js';
import type { Output } from '../output.js';
import { resolveSettings } from '../settings.js';

/**
 * `llem exec <file> [--index n]`: what a job of a remote executor (a Slurm job) runs on its host.
 * The file names the executor that wrote it; that executor (resolved by name, like any plugin)
 * reads the rest and measures the run here, through the composition root for the store, plugins
 * and GPUs the file and this host give.
 */
export async function execCommand(command: Command, out: Output): Promise<number> {
  const path = command.args[0]!;
  const flags = command.opts<{ index?: number }>();
  let header: unknown;
  try {
    header = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`llem exec: cannot read ${path}: ${messageOf(error)}`, {
      fix: 'An executor writes this file where every node can read it (a shared filesystem).',
    });
  }
  const name = isMapping(header) && typeof header.executor === 'string' ? header.executor : undefined;
  if (!name)
    throw new ConfigError(`llem exec: ${path} does not say which executor wrote it (no "executor" field).`, {
      fix: 'Use the same llem version on the submit host and the compute nodes.',
    });
  const settings = resolveSettings();
  const registry = createRegistry(settings);
  const executor = await registry.get('executor', name);
  if (!executor.exec)
    throw new ConfigError(`llem exec: the ${name} executor runs nothing in other processes.`);

  const { installInterruptHandler } = await import('@llem/runner-node');
  // scancel sends SIGTERM: the workload is stopped and the state marked interrupted.
  const interrupt = installInterruptHandler({ onFirst: (m) => out.info(m), onSecond: (m) => out.info(m) });
  releaseEarlySignalHandlers();
  try {
    return await executor.exec(path, {
      index: flags.index,
      signal: interrupt.signal,
      // --json: the executor's lines as `message` records, like every other command's text.
      line: (text) => (out.json ? out.record({ type: 'message', text }) : out.line(text)),
      compose: ({ store, resultsDir, plugins, gpuIndices }) => {
        const here = resolveSettings({ store: store.name, stateDir: store.dir, resultsDir });
        const jobRegistry = createRegistry(
          { ...here, plugins: [...here.plugins, ...plugins] },
          { gpuIndices: gpuIndices ?? null },
        );
        return composeLlem(here, jobRegistry);
      },
    });
  } finally {
    interrupt.dispose();
  }
}
