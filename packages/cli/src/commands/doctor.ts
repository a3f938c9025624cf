import { accessSync, constants, existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { type DoctorCheck, EnergyConfigSchema, messageOf } from '@llem/core';
import type { Output } from '../output.js';
import { resolveSettings } from '../settings.js';

const SAMPLER_NAMES = ['nvml', 'rapl', 'cpu-estimate'] as const;
const SAMPLER_TITLES: Record<string, string> = {
  nvml: 'GPU energy (NVML counters)',
  rapl: 'CPU energy (RAPL)',
  'cpu-estimate': 'CPU estimate (TDP x utilisation)',
};

function nodeCheck(): DoctorCheck {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const ok = major > 20 || (major === 20 && minor >= 11);
  return ok
    ? { name: 'node', status: 'ok', detail: `Node ${process.versions.node}` }
    : {
        name: 'node',
        status: 'fail',
        detail: `Node ${process.versions.node} is too old`,
        fix: 'Install Node 20.11 or newer.',
      };
}

/** Free space where state and results go: warn below 5 GiB, fail below 0.5 GiB. */
function diskCheck(name: string, dir: string): DoctorCheck {
  // Nothing is created: the check looks at the nearest existing ancestor.
  let existing = dir;
  while (!existsSync(existing) && existing !== dirname(existing)) existing = dirname(existing);
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    return {
      name,
      status: 'fail',
      detail: `${existing} is not writable`,
      fix: `Fix its permissions or choose another directory (see docs/configuration.md).`,
    };
  }
  const stats = statfsSync(existing);
  const freeGiB = (stats.bavail * stats.bsize) / 2 ** 30;
  const detail = `${dir}: ${freeGiB.toFixed(1)} GiB free`;
  if (freeGiB < 0.5)
    return { name, status: 'fail', detail, fix: 'Free disk space or point the directory elsewhere.' };
  if (freeGiB < 5)
    return {
      name,
      status: 'warn',
      detail,
      fix: 'Models and results need space: free some, or point the directory elsewhere.',
    };
  return { name, status: 'ok', detail };
}

async function energyChecks(): Promise<DoctorCheck[]> {
  const { createEnergyMeter } = await import('@llem/energy');
  const meter = createEnergyMeter(EnergyConfigSchema.parse({}));
  const results = await meter.probe();
  return results.map((probe, i) => {
    const sampler = SAMPLER_NAMES[i] ?? `sampler ${i}`;
    const devices = probe.devices.map((d) => d.name).join(', ');
    const notes = probe.notes?.length ? ` (${probe.notes.join('; ')})` : '';
    if (probe.available)
      return {
        name: SAMPLER_TITLES[sampler] ?? sampler,
        status: 'ok',
        detail: `${devices || 'available'}${notes}`,
      };
    return {
      name: SAMPLER_TITLES[sampler] ?? sampler,
      // Missing GPU counters or RAPL only lower what can be measured; llem still runs.
      status: 'warn',
      detail: probe.reason ?? 'not available',
      ...(probe.fix ? { fix: probe.fix } : {}),
    } satisfies DoctorCheck;
  });
}

async function slurmChecks(): Promise<DoctorCheck[]> {
  const { checkSlurm } = await import('@llem/runner-slurm');
  return (await checkSlurm()).map((check) => ({
    name: check.name,
    status: check.ok ? 'ok' : 'warn',
    detail: check.detail,
    ...(check.ok ? {} : { fix: 'Only `llem run --runner slurm` needs Slurm; see docs/slurm.md.' }),
  }));
}

async function backendChecks(): Promise<DoctorCheck[]> {
  const { pytorchBackend } = await import('@llem/backend-pytorch');
  return (await pytorchBackend.doctor?.()) ?? [];
}

/** `llem doctor`: what this machine can measure and run, each line ok/warn/fail with the fix. */
export async function doctorCommand(out: Output): Promise<number> {
  const settings = resolveSettings();
  const guarded = async (name: string, work: () => Promise<DoctorCheck[]>): Promise<DoctorCheck[]> => {
    try {
      return await work();
    } catch (error) {
      return [
        {
          name,
          status: 'fail',
          detail: messageOf(error),
          ...((error as { fix?: string }).fix ? { fix: (error as { fix: string }).fix } : {}),
        },
      ];
    }
  };
  const checks: DoctorCheck[] = [
    nodeCheck(),
    diskCheck('state dir', settings.stateDir.value),
    diskCheck('results dir', settings.resultsDir.value),
    ...(await guarded('energy', energyChecks)),
    ...(await guarded('pytorch backend', backendChecks)),
    ...(await guarded('slurm', slurmChecks)),
  ];
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  if (out.json) {
    out.record({ type: 'doctor', ok: failed === 0, checks });
  } else {
    for (const check of checks) {
      out.line(`${check.status.padEnd(4)}  ${check.name}: ${check.detail}`);
      if (check.fix && check.status !== 'ok') out.line(`      fix: ${check.fix}`);
    }
    out.line('');
    out.line(
      failed
        ? `${failed} problem(s), ${warned} warning(s).`
        : `All required checks passed${warned ? ` (${warned} warning(s))` : ''}.`,
    );
  }
  return failed ? 1 : 0;
}
