import { accessSync, constants, existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { type DoctorCheck, isLlemError, messageOf } from '@llem/core';
import { createRegistry } from '../compose.js';
import type { Output } from '../output.js';
import { resolveSettings } from '../settings.js';

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

/** Every built-in plugin that can check itself (energy sources, backends, executors), by name. */
async function pluginChecks(settings: ReturnType<typeof resolveSettings>): Promise<DoctorCheck[]> {
  const registry = createRegistry(settings);
  const checks: DoctorCheck[] = [];
  for (const kind of ['energy', 'backend', 'executor'] as const) {
    for (const name of registry.builtinNames(kind)) {
      try {
        const plugin = await registry.get(kind, name);
        checks.push(...((await plugin.doctor?.()) ?? []));
      } catch (error) {
        checks.push({
          name: `${kind} ${name}`,
          status: 'fail',
          detail: messageOf(error),
          ...(isLlemError(error) && error.fix ? { fix: error.fix } : {}),
        });
      }
    }
  }
  return checks;
}

/** `llem doctor`: what this machine can measure and run, each line ok/warn/fail with the fix. */
export async function doctorCommand(out: Output): Promise<number> {
  const settings = resolveSettings();
  const checks: DoctorCheck[] = [
    nodeCheck(),
    diskCheck('state dir', settings.stateDir.value),
    diskCheck('results dir', settings.resultsDir.value),
    ...(await pluginChecks(settings)),
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
