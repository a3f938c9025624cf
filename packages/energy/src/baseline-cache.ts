/**
 * Idle-baseline cache: one JSON file in a cache dir, one entry per device set. An entry is used only
 * for the exact same devices (ids and UUIDs) and only within its TTL; it records when and at which
 * temperatures it was taken, so a result can say where its baseline came from.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BaselineInfo, writeFileAtomic } from '@llem/core';

export const BASELINE_CACHE_FILE = 'idle-baseline.json';

export interface BaselineEntry {
  device_set: string[];
  taken_at_utc: string;
  duration_s: number;
  power_w: Record<string, number>;
  temperature_c?: Record<string, number>;
  power_spread_w?: Record<string, number>;
}

interface CacheFile {
  version: 1;
  entries: BaselineEntry[];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class BaselineCache {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, BASELINE_CACHE_FILE);
  }

  private async readAll(): Promise<BaselineEntry[]> {
    try {
      const data = JSON.parse(await readFile(this.path, 'utf8')) as Partial<CacheFile>;
      return data.version === 1 && Array.isArray(data.entries) ? data.entries : [];
    } catch {
      // Missing or unreadable cache: measure afresh and overwrite it.
      return [];
    }
  }

  /** A fresh entry for exactly this device set, as BaselineInfo with provenance; else null. */
  async lookup(deviceSet: readonly string[], ttlS: number, now: Date): Promise<BaselineInfo | null> {
    if (ttlS <= 0) return null;
    const entry = (await this.readAll()).find((e) => sameSet(e.device_set, deviceSet));
    if (!entry) return null;
    const ageS = (now.getTime() - Date.parse(entry.taken_at_utc)) / 1000;
    if (!(ageS >= 0 && ageS <= ttlS)) return null;
    const info: BaselineInfo = {
      taken_at_utc: entry.taken_at_utc,
      duration_s: entry.duration_s,
      from_cache: true,
      age_s: ageS,
      power_w: entry.power_w,
    };
    if (entry.temperature_c) info.temperature_c = entry.temperature_c;
    if (entry.power_spread_w) info.power_spread_w = entry.power_spread_w;
    return info;
  }

  /** Stores (or replaces) the entry for this device set; other sets' entries are kept. */
  async store(entry: BaselineEntry): Promise<void> {
    const entries = (await this.readAll()).filter((e) => !sameSet(e.device_set, entry.device_set));
    entries.push(entry);
    await mkdir(join(this.path, '..'), { recursive: true });
    const file: CacheFile = { version: 1, entries };
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`);
  }
}
