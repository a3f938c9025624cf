/**
 * CPU energy estimate for machines without a counter: TDP x utilisation from /proc/stat.
 * Every figure it produces is labelled `estimate` and kept apart from measured energy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EnergyReading, messageOf, type ProbeResult } from '@llem/core';
import { PollingSampler, type PollingSamplerOptions } from '../polling-sampler.js';
import type { EnergyDeviceInfo, EnergyDeviceTrace } from '../types.js';
import { tdpForModel } from './tdp.js';

export interface CpuEstimateOptions extends PollingSamplerOptions {
  /** /proc root; default /proc. */
  procRoot?: string;
  /** TDP per socket (energy.cpu_tdp_watts); default: looked up by CPU model. */
  tdpWatts?: number | null;
}

export interface CpuTimes {
  busy: number;
  total: number;
}

/** Aggregate CPU times from the first line of /proc/stat (iowait counts as idle). */
export function parseProcStat(text: string): CpuTimes {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no aggregate "cpu" line');
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 4 || fields.some((f) => !Number.isFinite(f)))
    throw new Error(`malformed cpu line: ${line}`);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Utilisation between two /proc/stat snapshots, 0..1. */
export function utilisation(prev: CpuTimes, next: CpuTimes): number {
  const dt = next.total - prev.total;
  if (dt <= 0) return 0;
  return Math.min(1, Math.max(0, (next.busy - prev.busy) / dt));
}

/** CPU model name and socket count from /proc/cpuinfo. */
export function parseCpuInfo(text: string): { model: string; sockets: number } {
  const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? 'unknown CPU';
  const ids = new Set([...text.matchAll(/^physical id\s*:\s*(\d+)$/gm)].map((m) => m[1]));
  return { model, sockets: Math.max(1, ids.size) };
}

export class CpuEstimateSampler extends PollingSampler {
  readonly name = 'cpu-estimate';
  readonly estimated = true;
  private readonly procRoot: string;
  private probed: ProbeResult | null = null;
  private device: EnergyDeviceInfo | null = null;
  private watts = 0;
  private readings: EnergyReading[] = [];
  private last: CpuTimes | null = null;

  constructor(private readonly options: CpuEstimateOptions = {}) {
    super('CPU estimate sampler', options);
    this.procRoot = options.procRoot ?? '/proc';
  }

  async probe(): Promise<ProbeResult> {
    this.probed ??= this.discover();
    return this.probed;
  }

  private discover(): ProbeResult {
    const statPath = join(this.procRoot, 'stat');
    try {
      parseProcStat(readFileSync(statPath, 'utf8'));
    } catch (error) {
      return {
        available: false,
        reason: `CPU estimate: cannot read ${statPath} (${messageOf(error)}).`,
        fix: 'Run on Linux with /proc mounted.',
        devices: [],
      };
    }
    let cpu = { model: 'unknown CPU', sockets: 1 };
    try {
      cpu = parseCpuInfo(readFileSync(join(this.procRoot, 'cpuinfo'), 'utf8'));
    } catch {
      // Model only matters for the TDP table.
    }
    const perSocket = this.options.tdpWatts ?? tdpForModel(cpu.model);
    if (perSocket === null) {
      return {
        available: false,
        reason: `CPU estimate: no TDP known for "${cpu.model}".`,
        fix: 'Set energy.cpu_tdp_watts to the TDP of one CPU socket (see the vendor data sheet).',
        devices: [],
      };
    }
    this.watts = perSocket * cpu.sockets;
    const origin = this.options.tdpWatts != null ? 'energy.cpu_tdp_watts' : 'built-in TDP table';
    this.device = {
      id: 'cpu-estimate',
      kind: 'cpu',
      name: `${cpu.model} (estimate: ${this.watts} W TDP x utilisation)`,
    };
    return {
      available: true,
      devices: [this.device],
      notes: [
        `cpu-estimate: an ESTIMATE, not a measurement: ${perSocket} W TDP (${origin}) x ${cpu.sockets} socket(s) x /proc/stat utilisation.`,
      ],
    };
  }

  protected beginReadings(): void {
    this.readings = [];
    this.last = null;
  }

  /** Power for the interval that just ended, stamped at its end. */
  protected tick(): void {
    let times: CpuTimes;
    try {
      times = parseProcStat(readFileSync(join(this.procRoot, 'stat'), 'utf8'));
    } catch {
      return;
    }
    const tMonoNs = this.clock.monotonicNs();
    if (this.last) {
      const util = utilisation(this.last, times);
      this.readings.push({ tMonoNs, powerW: this.watts * util, utilisationPct: util * 100 });
    } else {
      this.readings.push({ tMonoNs });
    }
    this.last = times;
  }

  liveTraces(): EnergyDeviceTrace[] {
    return this.device ? [{ device: this.device, source: 'estimate', readings: this.readings }] : [];
  }
}
