import { z } from 'zod';

/** Keys a study file has beside the (inline) base experiment fields. */
export const STUDY_KEYS = [
  'name',
  'base',
  'sweep',
  'experiments',
  'cycles',
  'order',
  'shuffle_seed',
  'gaps',
  'version',
] as const;

export const CYCLE_ORDERS = ['sequential', 'interleaved', 'shuffled'] as const;
export type CycleOrder = (typeof CYCLE_ORDERS)[number];

export const GapsConfigSchema = z.strictObject({
  experiment_seconds: z.number().min(0).default(0).describe('Pause between experiments'),
  cycle_seconds: z.number().min(0).default(0).describe('Extra pause between cycles'),
  cooldown: z
    .strictObject({
      max_temperature_c: z.number().positive().describe('Wait until every measured GPU is at or below this'),
      timeout_seconds: z.number().positive().default(600),
      poll_seconds: z.number().positive().default(2),
    })
    .nullable()
    .default(null),
});
export type GapsConfig = z.infer<typeof GapsConfigSchema>;

/** The study-only part of a study file. Experiment fields at the top level form the base experiment. */
export const StudySettingsSchema = z.strictObject({
  version: z.union([z.string(), z.number()]).optional(),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'study names use letters, digits, ".", "_" and "-" (max 64)')
    .optional(),
  base: z.string().min(1).optional().describe('Experiment YAML to start from, relative to the study file'),
  sweep: z
    .record(z.string(), z.union([z.array(z.unknown()).min(1), z.string(), z.number(), z.boolean()]))
    .optional()
    .describe('Grid: dotted keys (pytorch.batch_size, decoder.temperature) to lists of values'),
  experiments: z.array(z.record(z.string(), z.unknown())).min(1).optional(),
  cycles: z.number().int().min(1).max(1000).default(1),
  order: z.enum(CYCLE_ORDERS).default('sequential'),
  shuffle_seed: z.number().int().nullable().default(null),
  gaps: GapsConfigSchema.prefault({}),
});
export type StudySettings = z.infer<typeof StudySettingsSchema>;
