import { z } from 'zod';

/** Where an energy figure came from. Estimates are never mixed silently with measurements. */
export const ENERGY_SOURCES = ['counter', 'power-integral', 'estimate', 'simulated'] as const;
export type EnergySource = (typeof ENERGY_SOURCES)[number];

export const QualityWarningSchema = z.strictObject({
  code: z.string(),
  severity: z.enum(['info', 'warn', 'fail']),
  message: z.string(),
  device_id: z.string().nullable(),
});
export type QualityWarning = z.infer<typeof QualityWarningSchema>;

/**
 * How far an energy figure can be from the truth, in joules (one standard uncertainty per term,
 * combined in quadrature). docs/results.md says how each term is computed.
 */
export const EnergyUncertaintySchema = z.strictObject({
  /** Counter granularity: update period x peak power (null when no counter or power period is known). */
  granularity_j: z.number().nonnegative().nullable(),
  /** The sensor's systematic error: sensor_error_pct x energy. */
  systematic_j: z.number().nonnegative(),
  /** The baseline's: idle-power spread x window (null without a baseline spread). */
  baseline_j: z.number().nonnegative().nullable(),
  /** All terms combined: the square root of the sum of their squares. */
  total_j: z.number().nonnegative(),
  /** total_j over the figure it qualifies, in percent (null when that figure is 0). */
  relative_pct: z.number().nonnegative().nullable(),
  /** The counter's update period measured from the readings, in seconds (null: not measurable). */
  update_period_s: z.number().nonnegative().nullable().optional(),
  /** The assumed systematic error of each board, in percent. */
  sensor_error_pct: z.number().nonnegative().optional(),
});
export type EnergyUncertainty = z.infer<typeof EnergyUncertaintySchema>;

export const DeviceEnergySchema = z.strictObject({
  device_id: z.string(),
  kind: z.enum(['gpu', 'cpu', 'dram', 'other']),
  name: z.string(),
  sampler: z.string(),
  source: z.enum(ENERGY_SOURCES),
  energy_j: z.number().nonnegative(),
  baseline_power_w: z.number().nonnegative().nullable(),
  baseline_j: z.number().nonnegative().nullable(),
  adjusted_j: z.number().nonnegative().nullable(),
  mean_power_w: z.number().nonnegative().nullable(),
  peak_power_w: z.number().nonnegative().nullable(),
  /** Power-integral energy over the same window, when the primary source is the counter. */
  cross_check_j: z.number().nonnegative().nullable(),
  disagreement_pct: z.number().nullable(),
  /** Uncertainty of the headline figure of this device (adjusted_j when a baseline exists, else energy_j). */
  uncertainty: EnergyUncertaintySchema.optional(),
});
export type DeviceEnergy = z.infer<typeof DeviceEnergySchema>;

export const BaselineInfoSchema = z.strictObject({
  taken_at_utc: z.string(),
  duration_s: z.number().nonnegative(),
  from_cache: z.boolean(),
  age_s: z.number().nonnegative(),
  power_w: z.record(z.string(), z.number().nonnegative()),
  temperature_c: z.record(z.string(), z.number()).optional(),
  /** Standard deviation of each device's idle power readings, in W (the baseline's uncertainty). */
  power_spread_w: z.record(z.string(), z.number().nonnegative()).optional(),
});
export type BaselineInfo = z.infer<typeof BaselineInfoSchema>;

export const EnergyMeasurementSchema = z.strictObject({
  window_s: z.number().nonnegative(),
  devices: z.array(DeviceEnergySchema),
  total: z.strictObject({
    /** Sum over measured (counter or power-integral) devices. */
    measured_j: z.number().nonnegative(),
    /** Sum over estimated devices, reported apart. */
    estimated_j: z.number().nonnegative(),
    baseline_j: z.number().nonnegative().nullable(),
    adjusted_j: z.number().nonnegative().nullable(),
    /** Uncertainty of the headline total (adjusted_j when present, else measured_j); terms combined in quadrature across boards. */
    uncertainty: EnergyUncertaintySchema.optional(),
  }),
  baseline: BaselineInfoSchema.nullable(),
  quality: z.strictObject({
    ok: z.boolean(),
    warnings: z.array(QualityWarningSchema),
    counter_updates: z.number().int().nonnegative().nullable(),
    counter_wraps: z.number().int().nonnegative(),
    counter_regressions: z.number().int().nonnegative(),
    max_sample_gap_ms: z.number().nonnegative().nullable(),
    throttled: z.boolean(),
  }),
});
export type EnergyMeasurement = z.infer<typeof EnergyMeasurementSchema>;

export type EnergyBasis = 'adjusted' | 'raw' | 'estimate';

/**
 * The one energy figure a result is judged by: baseline-adjusted measured energy when it exists,
 * else raw measured; an estimate only when nothing was measured, and then labelled `estimate`.
 */
export function headlineEnergy(
  energy: EnergyMeasurement | null,
): { joules: number; basis: EnergyBasis } | null {
  if (!energy || energy.devices.length === 0) return null;
  const measured = energy.devices.some((device) => device.source !== 'estimate');
  if (measured && energy.total.adjusted_j !== null)
    return { joules: energy.total.adjusted_j, basis: 'adjusted' };
  if (measured) return { joules: energy.total.measured_j, basis: 'raw' };
  return { joules: energy.total.estimated_j, basis: 'estimate' };
}
