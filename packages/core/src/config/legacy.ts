import { ConfigError } from '../errors.js';
import { isMapping, type RawConfig } from './load.js';

/**
 * Keys renamed since configs were first written. The old name keeps working for one minor
 * version: it is read as the new one and the plan carries a one-line notice. A config that sets
 * both is an error (which one did the user mean?). Renames never change a config hash: both names
 * are volatile (see VOLATILE_CONFIG_KEYS) or map to the same resolved field.
 */
export const RENAMED_KEYS: Readonly<Record<string, string>> = { runner: 'launch' };

export function renameNotice(oldKey: string): string {
  return `\`${oldKey}:\` is now \`${RENAMED_KEYS[oldKey]}:\` (the old name works until the next minor version); rename it in the config.`;
}

/** One experiment mapping with renamed keys under their new names; `where` names it in errors. */
function upgradeMapping(raw: RawConfig, source: string, where: string, found: Set<string>): RawConfig {
  let out: RawConfig | null = null;
  for (const [oldKey, newKey] of Object.entries(RENAMED_KEYS)) {
    if (!Object.hasOwn(raw, oldKey)) continue;
    if (Object.hasOwn(raw, newKey) && raw[newKey] !== raw[oldKey]) {
      throw new ConfigError(
        `${source}: ${where}${oldKey}: is the old name of ${newKey}: and both are set (${JSON.stringify(raw[oldKey])} and ${JSON.stringify(raw[newKey])}).`,
        { fix: `Keep only ${newKey}:.` },
      );
    }
    out ??= { ...raw };
    const value = out[oldKey];
    delete out[oldKey];
    out[newKey] = value;
    found.add(oldKey);
  }
  return out ?? raw;
}

/**
 * A raw experiment or study document with renamed keys moved to their new names: top-level fields,
 * `experiments[]` entries and sweep keys. Returns the document (the same object when nothing was
 * renamed) and one notice per old name used.
 */
export function upgradeLegacyKeys(raw: RawConfig, source = 'config'): { raw: RawConfig; notices: string[] } {
  const found = new Set<string>();
  let out = upgradeMapping(raw, source, '', found);
  if (Array.isArray(out.experiments)) {
    let changed = false;
    const entries = out.experiments.map((entry, i) => {
      if (!isMapping(entry)) return entry;
      const upgraded = upgradeMapping(entry, source, `experiments[${i}].`, found);
      changed ||= upgraded !== entry;
      return upgraded;
    });
    if (changed) out = { ...out, experiments: entries };
  }
  if (isMapping(out.sweep)) {
    const sweep = out.sweep as RawConfig;
    if (Object.keys(sweep).some((key) => key in RENAMED_KEYS)) {
      const renamed: RawConfig = {};
      for (const [key, values] of Object.entries(sweep)) {
        const to = RENAMED_KEYS[key] ?? key;
        if (to !== key) found.add(key);
        if (Object.hasOwn(renamed, to))
          throw new ConfigError(`${source}: sweep['${key}'] and sweep['${to}'] sweep the same field.`, {
            fix: `Keep only sweep['${to}'].`,
          });
        renamed[to] = values;
      }
      out = { ...out, sweep: renamed };
    }
  }
  return { raw: out, notices: [...found].map(renameNotice) };
}
