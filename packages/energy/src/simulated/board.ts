import type { SimulatedGpuProfile } from './profiles.js';

/** Utilisation (and idle noise) changes once per slot of this many seconds. */
export const SLOT_S = 0.01;
/** Idle temperature, and the rise at full power (°C). */
const IDLE_C = 35;
const FULL_POWER_RISE_C = 40;
/** The board's thermal time constant (s): temperature follows power this slowly. */
const THERMAL_TAU_S = 20;
/** The observed part of a period is sampled at this step, in seconds. */
const OBSERVE_STEP_S = 0.001;

/** A deterministic number in [0, 1) from a seed and an index (mulberry32 of their mix). */
export function unitRandom(seed: number, index: number): number {
  let a = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index | 0, 0x85ebca6b)) >>> 0;
  a = (a + 0x6d2b79f5) | 0;
  let t = Math.imul(a ^ (a >>> 15), 1 | a);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export interface SimulatedBoardOptions {
  profile: SimulatedGpuProfile;
  /** Multiplies everything the sensor reports (1.02: reads 2 % high). */
  gain: number;
  seed: number;
  /** Mean utilisation while active, 0..1. */
  utilisation: number;
  /** Slot-to-slot variation of utilisation, 0..1. */
  burstiness: number;
  /** The counter resets to 0 at the first update at or after this time (s), once. */
  reloadAfterS?: number | null;
  /** The counter's value at t = 0, in mJ (a real counter counts from the driver's load). */
  counterOffsetMj?: number;
  /** Replaces the utilisation model: the board's true power in W at time t while active (tests). */
  activePowerW?: (t: number) => number;
}

/**
 * One simulated GPU board: a true power curve driven by the workload (idle, or active with a bursty
 * utilisation), and a sensor that sees it the way NVML's does: the energy counter advances once per
 * update period by the mean power it observed in the first `observedFraction` of that period, the
 * power reading is the mean of those observations over the averaging window, and both carry the
 * board's gain error. Times are seconds since the sampler's epoch and must not go backwards.
 */
export class SimulatedBoard {
  private readonly periodS: number;
  private readonly windowPeriods: number;
  private transitions: { t: number; active: boolean }[] = [];
  private nextPeriod = 0;
  private counterMj: number;
  private reloaded = false;
  private recent: number[] = [];
  private trueEnergyJ = 0;
  private temperature = IDLE_C;

  constructor(private readonly options: SimulatedBoardOptions) {
    this.periodS = options.profile.updatePeriodMs / 1000;
    this.windowPeriods = Math.max(
      1,
      Math.round(options.profile.averagingWindowMs / options.profile.updatePeriodMs),
    );
    this.counterMj = options.counterOffsetMj ?? 0;
  }

  /** From time t on, the workload runs on the board (true) or it is idle (false). */
  setActive(t: number, active: boolean): void {
    this.transitions.push({ t, active });
  }

  isActive(t: number): boolean {
    let active = false;
    for (const tr of this.transitions) if (tr.t <= t) active = tr.active;
    return active;
  }

  /** Utilisation at time t, 0..1 (0 when idle). */
  utilisationAt(t: number): number {
    if (!this.isActive(t)) return 0;
    const { utilisation, burstiness, seed } = this.options;
    const r = unitRandom(seed, Math.floor(t / SLOT_S));
    return Math.min(1, Math.max(0, utilisation * (1 + burstiness * (2 * r - 1))));
  }

  /** The board's true power at time t, in W. */
  truePowerW(t: number): number {
    const { profile, seed, activePowerW } = this.options;
    if (this.isActive(t)) {
      if (activePowerW) return activePowerW(t);
      return profile.idleW + (profile.tdpW - profile.idleW) * this.utilisationAt(t);
    }
    // Idle draw wanders by ±1 % from slot to slot (so an idle baseline has a spread).
    return profile.idleW * (1 + 0.01 * (2 * unitRandom(seed ^ 0x5bd1e995, Math.floor(t / SLOT_S)) - 1));
  }

  /** Energy the board truly drew in the update periods processed so far, in J (no gain, all of each period). */
  get trueEnergySoFarJ(): number {
    return this.trueEnergyJ;
  }

  /** The board's temperature (°C) as of the last update processed by read(). */
  get temperatureC(): number {
    return this.temperature;
  }

  /** What the sensor shows at time t: the counter (mJ, whole) and the power reading (W). */
  read(t: number): { energyMj: number; powerW: number } {
    const { profile, gain, reloadAfterS } = this.options;
    while ((this.nextPeriod + 1) * this.periodS <= t + 1e-12) {
      const start = this.nextPeriod * this.periodS;
      if (!this.reloaded && reloadAfterS != null && start + this.periodS >= reloadAfterS) {
        this.counterMj = 0;
        this.reloaded = true;
      }
      const observed = this.meanPowerW(start, start + profile.observedFraction * this.periodS);
      const truePower = this.meanPowerW(start, start + this.periodS);
      this.trueEnergyJ += truePower * this.periodS;
      // First-order thermal lag towards the temperature this power would settle at.
      const settle =
        IDLE_C +
        (FULL_POWER_RISE_C * Math.max(0, truePower - profile.idleW)) / (profile.tdpW - profile.idleW);
      this.temperature += (settle - this.temperature) * (1 - Math.exp(-this.periodS / THERMAL_TAU_S));
      this.counterMj += gain * observed * this.periodS * 1000;
      this.recent.push(gain * observed);
      if (this.recent.length > this.windowPeriods) this.recent.shift();
      this.nextPeriod++;
    }
    const powerW = this.recent.length
      ? this.recent.reduce((a, b) => a + b, 0) / this.recent.length
      : gain * this.truePowerW(t);
    return { energyMj: Math.floor(this.counterMj), powerW };
  }

  /** Mean true power over [from, to), sampled every millisecond. */
  private meanPowerW(from: number, to: number): number {
    const n = Math.max(1, Math.round((to - from) / OBSERVE_STEP_S));
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this.truePowerW(from + (i + 0.5) * ((to - from) / n));
    return sum / n;
  }
}
