/**
 * Turns sampler traces into an EnergyMeasurement over one window: per-device energy with its source,
 * baseline adjustment, totals that keep estimates apart, and the quality block.
 */
import type {
  BaselineInfo,
  DeviceEnergy,
  EnergyMeasurement,
  EnergyUncertainty,
  MeasurementWindowNs,
  QualityWarning,
  SamplerTrace,
} from '@llem/core';
import {
  counterEnergyJ,
  counterReadings,
  counterUpdates,
  coverage,
  integrateLinear,
  maxGapS,
  powerPoints,
  relativeSeconds,
  unwrapCounter,
} from './integrate.js';
import type { EnergyDeviceTrace } from './types.js';
import {
  DEFAULT_SENSOR_ERROR_PCT,
  energyUncertainty,
  measuredUpdatePeriodS,
  sumUncertainty,
} from './uncertainty.js';

export interface QualityThresholds {
  /** Warn when the window is shorter than this (NVML counter needs >= 5 s to be stable). */
  min_window_seconds: number;
  /** Warn when counter and power-integral energy differ by more than this, in percent. */
  max_disagreement_pct: number;
  /** warn: findings are warnings; fail: they are failures (the caller refuses the result). */
  quality_policy: 'warn' | 'fail';
  /** Assumed systematic error of each board's sensor, percent (default DEFAULT_SENSOR_ERROR_PCT). */
  sensor_error_pct?: number;
}

export const DEFAULT_QUALITY: QualityThresholds = {
  min_window_seconds: 5,
  max_disagreement_pct: 10,
  quality_policy: 'warn',
};

/** Fewer counter updates than this in a window make its energy coarse (one update is ~100 ms on NVML). */
export const MIN_COUNTER_UPDATES = 10;
/** Temperature change across a window that says the device was not thermally steady. */
export const THERMAL_DRIFT_C = 10;
/** A gap longer than this many sample intervals is reported. */
export const GAP_INTERVALS = 3;
/** NVML clock-event bits that mean the GPU was slowed down (SwPowerCap, HwSlowdown, SwThermal, HwThermal, HwPowerBrake). */
export const THROTTLE_BITS: Readonly<Record<string, number>> = {
  sw_power_cap: 0x4,
  hw_slowdown: 0x8,
  sw_thermal: 0x20,
  hw_thermal: 0x40,
  hw_power_brake: 0x80,
};
const THROTTLE_MASK = Object.values(THROTTLE_BITS).reduce((a, b) => a | b, 0);

function throttleNames(bits: number): string[] {
  return Object.entries(THROTTLE_BITS)
    .filter(([, bit]) => bits & bit)
    .map(([name]) => name);
}

/** What the meter knows about the run beyond its traces. */
export interface IntegrationContext {
  /**
   * Pids of the workload's root process(es), in the pid namespace NVML reports (the host's for a
   * local run). With them, a GPU process that is neither one of them nor their descendant (nor in
   * their process group or session) is foreign. Without them (unknown, e.g. Docker, where the
   * container's processes are not descendants of the `docker` client), processes seen are only noted.
   */
  workloadPids?: readonly number[] | null;
}

function formatBytes(bytes: number | null): string {
  if (bytes === null) return 'memory n/a';
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/**
 * Processes on this GPU during the window (within one process poll of its edges, since processes
 * are listed every few hundred ms), split into the workload's and the others. Largest memory kept per pid.
 */
function processesInWindow(
  dt: EnergyDeviceTrace,
  window: MeasurementWindowNs,
  workloadPids: ReadonlySet<number> | null,
): { foreign: Map<number, number | null>; unattributed: Map<number, number | null> } {
  const foreign = new Map<number, number | null>();
  const unattributed = new Map<number, number | null>();
  const trace = dt.processes;
  if (!trace) return { foreign, unattributed };
  const slackNs = BigInt(Math.round(trace.intervalMs * 1e6));
  const keep = (into: Map<number, number | null>, pid: number, used: number | null) => {
    const had = into.get(pid);
    into.set(pid, had === undefined || had === null ? used : used === null ? had : Math.max(had, used));
  };
  for (const p of trace.samples) {
    if (p.tMonoNs < window.startNs - slackNs || p.tMonoNs > window.endNs + slackNs) continue;
    if (workloadPids && p.related.some((pid) => workloadPids.has(pid))) continue;
    // A pid /proc does not show (llem in a container: NVML reports host pids) cannot be told apart.
    if (workloadPids && p.visible) keep(foreign, p.pid, p.usedMemoryBytes);
    else keep(unattributed, p.pid, p.usedMemoryBytes);
  }
  return { foreign, unattributed };
}

const listPids = (m: Map<number, number | null>) =>
  [...m].map(([pid, used]) => `pid ${pid} (${formatBytes(used)})`).join(', ');

function round(x: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function integrateTraces(
  traces: readonly SamplerTrace[],
  window: MeasurementWindowNs,
  baseline: BaselineInfo | null,
  thresholds: QualityThresholds = DEFAULT_QUALITY,
  context: IntegrationContext = {},
): EnergyMeasurement {
  if (window.endNs < window.startNs)
    throw new RangeError(`measurement window ends (${window.endNs}) before it starts (${window.startNs})`);
  const windowS = relativeSeconds(window.endNs, window.startNs);
  const severity = thresholds.quality_policy === 'fail' ? 'fail' : 'warn';
  const warnings: QualityWarning[] = [];
  const warn = (
    code: string,
    message: string,
    deviceId: string | null,
    sev: QualityWarning['severity'] = severity,
  ) => warnings.push({ code, severity: sev, message, device_id: deviceId });

  const devices: DeviceEnergy[] = [];
  const sensorErrorPct = thresholds.sensor_error_pct ?? DEFAULT_SENSOR_ERROR_PCT;
  const partOf = new Set<string>();
  let minUpdates: number | null = null;
  let wraps = 0;
  let regressions = 0;
  let maxGap: number | null = null;
  let throttleBits = 0;
  const workloadPids = context.workloadPids?.length ? new Set(context.workloadPids) : null;

  for (const trace of traces) {
    for (const dt of trace.devices as EnergyDeviceTrace[]) {
      const id = dt.device.id;
      if (dt.device.partOf) partOf.add(id);
      const inWindow = dt.readings.filter((r) => r.tMonoNs >= window.startNs && r.tMonoNs <= window.endNs);
      const times = dt.readings.map((r) => relativeSeconds(r.tMonoNs, window.startNs)).sort((a, b) => a - b);
      const gap = maxGapS(times, 0, windowS);
      if (gap !== null) {
        maxGap = Math.max(maxGap ?? 0, gap);
        if (gap * 1000 > GAP_INTERVALS * trace.intervalMs) {
          warn(
            'sampling_gap',
            `${id}: ${(gap * 1000).toFixed(0)} ms between readings (interval ${trace.intervalMs} ms); the event loop or the device was stalled.`,
            id,
          );
        }
      }
      for (const r of inWindow) throttleBits |= (r.throttleReasons ?? 0) & THROTTLE_MASK;
      const deviceThrottle = inWindow.reduce((acc, r) => acc | ((r.throttleReasons ?? 0) & THROTTLE_MASK), 0);
      if (deviceThrottle)
        warn(
          'throttled',
          `${id}: clocks were slowed down during the window (${throttleNames(deviceThrottle).join(', ')}).`,
          id,
        );

      if (dt.processes?.unavailable) {
        warn(
          'gpu_processes_unknown',
          `${id}: NVML cannot list the compute processes on this GPU (${dt.processes.unavailable}); other jobs sharing it are not detected.`,
          id,
          'info',
        );
      }
      const { foreign, unattributed } = processesInWindow(dt, window, workloadPids);
      if (foreign.size) {
        warn(
          'foreign_gpu_process',
          `${id}: ${foreign.size} process(es) other than the workload used this GPU during the window: ${listPids(foreign)}; they share its power, so this energy is not the workload's alone.`,
          id,
        );
      }
      if (unattributed.size) {
        warn(
          'gpu_processes_unattributed',
          `${id}: compute process(es) on this GPU during the window that cannot be attributed: ${listPids(unattributed)}; the workload's pids are unknown (a Docker run) or /proc does not show these pids (another pid namespace), so they may or may not be the workload's.`,
          id,
          'info',
        );
      }

      const temps = inWindow.flatMap((r) => (r.temperatureC === undefined ? [] : [r.temperatureC]));
      const drift = temps.length >= 2 ? (temps.at(-1) ?? 0) - (temps[0] ?? 0) : 0;
      if (Math.abs(drift) > THERMAL_DRIFT_C) {
        warn(
          'thermal_drift',
          `${id}: temperature moved ${drift.toFixed(1)} °C during the window (limit ${THERMAL_DRIFT_C} °C); the GPU was not at a steady state.`,
          id,
        );
      }

      const power = powerPoints(dt.readings, window.startNs);
      const powerJ = power.length >= 2 ? integrateLinear(power, 0, windowS).integral : null;
      // A loop, not Math.max(...xs): an hour at 100 Hz would overflow the argument stack.
      let peak: number | null = null;
      for (const p of power) if (p.t >= 0 && p.t <= windowS && (peak === null || p.v > peak)) peak = p.v;

      let energyJ: number;
      let source: DeviceEnergy['source'];
      let crossCheck: number | null = null;
      let disagreement: number | null = null;
      let covered: number;
      let updatePeriodS: number | null = null;
      if (dt.source === 'counter') {
        const counter = unwrapCounter(counterReadings(dt.readings, window.startNs), dt.counterRangeMj);
        wraps += counter.wraps;
        regressions += counter.regressions;
        if (counter.regressions)
          warn(
            'counter_regression',
            `${id}: the energy counter went backwards ${counter.regressions} time(s) (driver reload or reset); those intervals count as 0 J.`,
            id,
          );
        if (counter.wraps)
          warn(
            'counter_wrap',
            `${id}: the counter wrapped ${counter.wraps} time(s); corrected with its range (${dt.counterRangeMj} mJ).`,
            id,
            'info',
          );
        energyJ = counterEnergyJ(counter.points, 0, windowS);
        covered = coverage(counter.points, 0, windowS);
        source = dt.simulated ? 'simulated' : 'counter';
        updatePeriodS = measuredUpdatePeriodS(counter.points);
        const updates = counterUpdates(counter.points, 0, windowS);
        minUpdates = Math.min(minUpdates ?? updates, updates);
        if (updates < MIN_COUNTER_UPDATES && windowS > 0) {
          const period =
            counter.points.length > 1
              ? ((counter.points.at(-1)?.t ?? 0) - (counter.points[0]?.t ?? 0)) /
                Math.max(1, counterUpdates(counter.points, -Infinity, Infinity))
              : Number.NaN;
          warn(
            'few_counter_updates',
            `${id}: only ${updates} counter update(s) in a ${windowS.toFixed(3)} s window (counter period ~${(period * 1000).toFixed(0)} ms); energy is coarse. Lengthen the window.`,
            id,
          );
        }
        if (powerJ !== null) {
          crossCheck = powerJ;
          disagreement = energyJ > 0 ? ((powerJ - energyJ) / energyJ) * 100 : null;
          if (disagreement !== null && Math.abs(disagreement) > thresholds.max_disagreement_pct) {
            warn(
              'counter_power_disagreement',
              `${id}: counter ${energyJ.toFixed(3)} J vs power integral ${powerJ.toFixed(3)} J (${disagreement.toFixed(1)} %, limit ${thresholds.max_disagreement_pct} %). On Ampere and newer, power is a 1 s average, so short or bursty windows disagree.`,
              id,
            );
          }
        }
      } else {
        energyJ = powerJ ?? 0;
        covered = coverage(power, 0, windowS);
        source = dt.source === 'estimate' ? 'estimate' : 'power-integral';
        // A power integral's granularity is its reading period.
        if (power.length >= 2)
          updatePeriodS = ((power.at(-1)?.t ?? 0) - (power[0]?.t ?? 0)) / (power.length - 1);
      }
      if (windowS > 0 && covered < windowS * 0.999) {
        warn(
          'window_not_covered',
          `${id}: readings span ${covered.toFixed(3)} s of the ${windowS.toFixed(3)} s window; the rest is missing from its energy.`,
          id,
        );
      }

      const baselineW = baseline?.power_w[id] ?? null;
      const baselineJ = baselineW === null ? null : baselineW * windowS;
      const adjustedJ = baselineJ === null ? null : round(Math.max(0, energyJ - baselineJ));
      // Estimates have no sensor: their error is the model's, not given here.
      const uncertainty =
        source === 'estimate'
          ? undefined
          : energyUncertainty({
              energyJ: adjustedJ ?? energyJ,
              updatePeriodS,
              peakPowerW: peak,
              sensorErrorPct,
              baselineSpreadW: baselineW === null ? null : (baseline?.power_spread_w?.[id] ?? null),
              windowS,
            });
      devices.push({
        device_id: id,
        kind: dt.device.kind,
        name: dt.device.name,
        sampler: trace.sampler,
        source,
        energy_j: round(energyJ),
        baseline_power_w: baselineW,
        baseline_j: baselineJ === null ? null : round(baselineJ),
        adjusted_j: adjustedJ,
        mean_power_w: windowS > 0 ? round(energyJ / windowS) : null,
        peak_power_w: peak,
        cross_check_j: crossCheck === null ? null : round(crossCheck),
        disagreement_pct: disagreement === null ? null : round(disagreement, 3),
        ...(uncertainty ? { uncertainty } : {}),
      });
    }
  }

  if (devices.length === 0)
    warn('no_energy_source', 'No energy sampler was available: energy is not measured.', null);
  if (windowS < thresholds.min_window_seconds) {
    warn(
      'short_window',
      `The measurement window is ${windowS.toFixed(3)} s, under min_window_seconds (${thresholds.min_window_seconds} s); energy counters are unstable on short windows.`,
      null,
    );
  }
  if (devices.some((d) => d.source === 'simulated')) {
    warn(
      'simulated_energy',
      'This energy comes from a simulated GPU (energy.samplers: [simulated]): no real device was measured.',
      null,
      'info',
    );
  }
  if (devices.some((d) => d.source === 'estimate')) {
    warn(
      'estimated_energy',
      'Some energy is an estimate (TDP x utilisation), reported apart in total.estimated_j, never in measured_j.',
      null,
      'info',
    );
  }

  // Totals: devices counted inside another (RAPL core/uncore in package) are left out to avoid double counting.
  const top = devices.filter((d) => !partOf.has(d.device_id));
  const measured = top.filter((d) => d.source !== 'estimate');
  // A baseline total only when every measured device has a baseline: a partial one would mislead.
  const withBaseline = measured.every((d) => d.baseline_j !== null) ? measured : [];
  const sum = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0));
  const adjustedTotal = withBaseline.length ? sum(withBaseline.map((d) => d.adjusted_j ?? 0)) : null;
  const measuredTotal = sum(measured.map((d) => d.energy_j));
  const parts = measured.flatMap((d) => (d.uncertainty ? [d.uncertainty] : []));
  const totalUncertainty: EnergyUncertainty | undefined = parts.length
    ? { ...sumUncertainty(parts, adjustedTotal ?? measuredTotal), sensor_error_pct: sensorErrorPct }
    : undefined;
  return {
    window_s: round(windowS, 9),
    devices,
    total: {
      measured_j: measuredTotal,
      estimated_j: sum(top.filter((d) => d.source === 'estimate').map((d) => d.energy_j)),
      baseline_j: withBaseline.length ? sum(withBaseline.map((d) => d.baseline_j ?? 0)) : null,
      adjusted_j: adjustedTotal,
      ...(totalUncertainty ? { uncertainty: totalUncertainty } : {}),
    },
    baseline,
    quality: {
      ok: !warnings.some((w) => w.severity !== 'info'),
      warnings,
      counter_updates: minUpdates,
      counter_wraps: wraps,
      counter_regressions: regressions,
      max_sample_gap_ms: maxGap === null ? null : round(maxGap * 1000, 3),
      throttled: throttleBits !== 0,
    },
  };
}
