/** RAPL sampler: CPU package/core/uncore/DRAM energy counters from Linux powercap sysfs. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EnergyReading, messageOf, type ProbeResult } from '@llem/core';
import { PollingSampler, type PollingSamplerOptions } from '../polling-sampler.js';
import type { EnergyDeviceInfo, EnergyDeviceTrace } from '../types.js';

export const DEFAULT_POWERCAP_ROOT = '/sys/class/powercap';

/** Reads one sysfs file as text. Injectable because root ignores file modes, so tests cannot chmod a denial. */
export type ReadText = (path: string) => string;

export interface RaplSamplerOptions extends PollingSamplerOptions {
  /** powercap root; default /sys/class/powercap. */
  root?: string;
  readText?: ReadText;
}

interface RaplZone {
  info: EnergyDeviceInfo;
  energyPath: string;
  rangeMj: number;
}

/** A sysfs counter value, or null when the text is not a plain non-negative integer. */
export function parseMicrojoules(text: string): number | null {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : null;
}

const ZONE_DIR = /^intel-rapl:(\d+)(?::(\d+))?$/;

export function raplPermissionFix(root: string): string {
  return (
    'Since Linux 5.10 energy_uj is readable by root only (CVE-2020-8694). Run llem as root, or grant read access ' +
    `until the next boot: sudo chmod o+r ${root}/intel-rapl:*/energy_uj ${root}/intel-rapl:*/intel-rapl:*/energy_uj, ` +
    'or for good with a udev rule in /etc/udev/rules.d/70-powercap.rules: ' +
    'ACTION=="add", SUBSYSTEM=="powercap", RUN+="/bin/chmod o+r /sys%p/energy_uj"'
  );
}

export class RaplSampler extends PollingSampler {
  readonly name = 'rapl';
  readonly estimated = false;
  private readonly root: string;
  private readonly readText: ReadText;
  private probed: ProbeResult | null = null;
  private zones: RaplZone[] = [];
  private readings = new Map<string, EnergyReading[]>();

  constructor(options: RaplSamplerOptions = {}) {
    super('RAPL sampler', options);
    this.root = options.root ?? DEFAULT_POWERCAP_ROOT;
    this.readText = options.readText ?? ((path) => readFileSync(path, 'utf8'));
  }

  async probe(): Promise<ProbeResult> {
    this.probed ??= this.discover();
    return this.probed;
  }

  private discover(): ProbeResult {
    const fail = (reason: string, fix: string): ProbeResult => ({
      available: false,
      reason: `RAPL: ${reason}`,
      fix,
      devices: [],
    });
    let entries: string[];
    try {
      entries = readdirSync(this.root);
    } catch {
      return fail(
        `no powercap interface at ${this.root}.`,
        'RAPL needs an Intel or AMD CPU on bare metal with the intel_rapl kernel module (modprobe intel_rapl_common); VMs usually hide it.',
      );
    }
    // Top-level zones first, so a subzone can name the package it belongs to.
    const dirs = entries
      .map((name) => ({ name, m: ZONE_DIR.exec(name) }))
      .filter((e): e is { name: string; m: RegExpExecArray } => e.m !== null)
      .sort(
        (a, b) => Number(a.m[2] !== undefined) - Number(b.m[2] !== undefined) || a.name.localeCompare(b.name),
      );
    const notes: string[] = [];
    const packageIds = new Map<string, string>();
    for (const { name, m } of dirs) {
      const dir = join(this.root, name);
      let domain: string;
      let rangeUj: number;
      try {
        domain = this.readText(join(dir, 'name')).trim();
        rangeUj = parseMicrojoules(this.readText(join(dir, 'max_energy_range_uj'))) ?? 0;
        this.readText(join(dir, 'energy_uj'));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') {
          return fail(`permission denied reading ${join(dir, 'energy_uj')}.`, raplPermissionFix(this.root));
        }
        notes.push(`${name}: unreadable (${messageOf(error)}); skipped.`);
        continue;
      }
      const socket = m[1] ?? '0';
      const parent = m[2] === undefined ? undefined : packageIds.get(socket);
      const info = this.deviceFor(domain, socket, parent);
      if (!info) {
        notes.push(
          `${name} (${domain}): not measured (psys covers the whole platform and would double count).`,
        );
        continue;
      }
      if (m[2] === undefined && domain.startsWith('package')) packageIds.set(socket, info.id);
      if (rangeUj <= 0)
        notes.push(`${name}: no max_energy_range_uj; a counter wrap would count as a regression.`);
      this.zones.push({ info, energyPath: join(dir, 'energy_uj'), rangeMj: rangeUj / 1000 });
    }
    if (this.zones.length === 0)
      return fail(
        `no readable RAPL zone under ${this.root}.`,
        'Check that intel_rapl is loaded and energy_uj is readable.',
      );
    return { available: true, devices: this.zones.map((z) => z.info), notes };
  }

  private deviceFor(domain: string, socket: string, parent: string | undefined): EnergyDeviceInfo | null {
    const n = Number(socket);
    if (domain.startsWith('package'))
      return { id: `cpu-package-${socket}`, kind: 'cpu', name: `CPU package ${socket}`, index: n };
    // DRAM is outside the package domain, so it adds to the total; core and uncore are inside it.
    if (domain === 'dram')
      return { id: `dram-${socket}`, kind: 'dram', name: `DRAM (socket ${socket})`, index: n };
    if (domain === 'core' || domain === 'uncore') {
      const info: EnergyDeviceInfo = {
        id: `cpu-${domain}-${socket}`,
        kind: 'cpu',
        name: `CPU ${domain} (socket ${socket})`,
        index: n,
      };
      if (parent) info.partOf = parent;
      return info;
    }
    return null;
  }

  protected beginReadings(): void {
    this.readings = new Map(this.zones.map((z) => [z.info.id, []]));
  }

  protected tick(): void {
    for (const z of this.zones) {
      try {
        const uj = parseMicrojoules(this.readText(z.energyPath));
        if (uj === null) continue; // torn or empty read: a gap, never a bogus 0
        this.readings.get(z.info.id)?.push({ tMonoNs: this.clock.monotonicNs(), energyMj: uj / 1000 });
      } catch {
        // A missed read shows up as a sampling gap in the quality block.
      }
    }
  }

  liveTraces(): EnergyDeviceTrace[] {
    return this.zones.map((z) => ({
      device: z.info,
      source: 'counter',
      counterRangeMj: z.rangeMj,
      readings: this.readings.get(z.info.id) ?? [],
    }));
  }
}
