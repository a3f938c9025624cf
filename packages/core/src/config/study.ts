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
      timeout_seconds: z
        .number()
        .positive()
        .default(600)
        .describe('Stop waiting for the cool-down after this long (then go on, with a warning)'),
      poll_seconds: z.number().positive().default(2).describe('Seconds between temperature readings'),
    })
    .nullable()
    .default(null)
    .describe('Before each run, wait until the GPUs are cool enough (null: no cool-down)'),
});
export type GapsConfig = z.infer<typeof GapsConfigSchema>;

/** The study-only part of a study file. Experiment fields at the top level form the base experiment. */
export const StudySettingsSchema = z.strictObject({
  version: z
    .union([z.string(), z.number()])
    .optional()
    .describe('Config format version (read for upgrades, otherwise ignored)'),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'study names use letters, digits, ".", "_" and "-" (max 64)')
    .optional()
    .describe('Study name: the first part of the study id and its results folder (default: the file name)'),
  base: z.string().min(1).optional().describe('Experiment YAML to start from, relative to the study file'),
  sweep: z
    .record(z.string(), z.union([z.array(z.unknown()).min(1), z.string(), z.number(), z.boolean()]))
    .optional()
    .describe('Grid: dotted keys (pytorch.batch_size, decoder.temperature) to lists of values'),
  experiments: z
    .array(z.record(z.string(), z.unknown()))
    .min(1)
    .optional()
    .describe('Explicit experiments, each merged over the base (instead of, or beside, sweep)'),
  cycles: z.number().int().min(1).max(1000).default(1).describe('Times every experiment is measured'),
  order: z
    .enum(CYCLE_ORDERS)
    .default('sequential')
    .describe('sequential (all cycles of one experiment together), interleaved, or shuffled (seeded)'),
  shuffle_seed: z
    .number()
    .int()
    .nullable()
    .default(null)
    .describe('Seed of order: shuffled (null: random_seed)'),
  gaps: GapsConfigSchema.prefault({}).describe('Pauses between runs, and an optional GPU cool-down'),
});
export type StudySettings = z.infer<typeof StudySettingsSchema>;
