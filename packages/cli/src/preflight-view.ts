import type { PreflightCheck } from '@llem/core';
import {
  type PreflightDirectory,
  type PreflightReport,
  preflightError,
  preflightProblemLine,
} from '@llem/core/orchestration';
import { type Output, printError } from './output.js';
import { type Setting, type Settings, whereSet } from './settings.js';

/** A setting as the user knows it: `--launch`, `LLEM_LAUNCH`, `defaults.launch in <file>`. */
export function settingName(
  name: string,
  setting: Setting<unknown>,
  settings: Pick<Settings, 'userConfigPath'>,
): string {
  if (setting.source === 'user-config') return `defaults.${name} in ${settings.userConfigPath}`;
  if (setting.source === 'default') return `--${name.replaceAll('_', '-')}`;
  return whereSet(name, setting.source);
}

/**
 * The name of a config field as the user set it: the flag that overrode it (`--model`,
 * `--set dataset.path`), else `<field> in <file>`.
 */
export function fieldSettingFor(
  overrides: readonly { path: readonly string[]; flag?: string }[],
  file: string,
): (path: string) => string {
  return (path) => {
    const override = [...overrides]
      .reverse()
      .find((o) => o.flag && (path === o.path.join('.') || path.startsWith(`${o.path.join('.')}.`)));
    return override?.flag ?? `${path} in ${file}`;
  };
}

/** The directories `llem run` writes to, for the preflight's writable/full-disk checks. */
export function runDirectories(
  settings: Pick<Settings, 'resultsDir' | 'stateDir' | 'userConfigPath'>,
): PreflightDirectory[] {
  return [
    {
      name: 'results dir',
      path: settings.resultsDir.value,
      setting: settingName('results_dir', settings.resultsDir, settings),
    },
    {
      name: 'state dir',
      path: settings.stateDir.value,
      setting: settingName('state_dir', settings.stateDir, settings),
    },
  ];
}

/**
 * Prints the preflight: with --dry-run every check (`ok`/`warn`/`fail`); a warning always; each
 * problem as one `error:` line naming the setting, with its fix. Returns the exit code when the
 * preflight failed (2: nothing was started), else null. --json: one `preflight` record, then the
 * `error` record.
 */
export function printPreflight(
  report: PreflightReport,
  out: Output,
  options: { dryRun: boolean },
): number | null {
  const error = preflightError(report);
  if (out.json) {
    out.record({ type: 'preflight', ok: report.ok, checks: report.checks });
    if (error) printError(error, out);
    return error ? error.exitCode : null;
  }
  if (options.dryRun) {
    out.line('Preflight:');
    for (const check of report.checks) out.line(`  ${check.status.padEnd(4)}  ${label(check)}`);
  } else {
    for (const check of report.checks)
      if (check.status === 'warn') out.info(`warning: ${preflightProblemLine(check)}`);
  }
  if (!error) return null;
  for (const problem of report.problems) {
    out.info(`error: ${problem.setting ?? problem.name}: ${problem.detail}`);
    if (problem.fix) out.info(`  fix: ${problem.fix}`);
  }
  out.info(
    `${report.problems.length} problem(s) found before starting: nothing was run. Fix them, then run the same command again.`,
  );
  return error.exitCode;
}

function label(check: PreflightCheck): string {
  return `${check.name}: ${check.detail}${check.status !== 'ok' && check.setting ? ` (${check.setting})` : ''}`;
}
