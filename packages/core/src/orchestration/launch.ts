import type { LaunchChoice } from '../config/experiment.js';
import type { BackendCatalog, LaunchMode } from '../plugins/backend.js';
import type { StudyPlan } from './study-plan.js';

export interface LaunchDecision {
  /** The launch mode for every run of the study, or undefined to let each experiment decide. */
  launch: LaunchMode | undefined;
  /** Why, for --verbose and --dry-run. */
  reason: string;
}

/**
 * The study's launch mode from the user's choice (`--launch`, LLEM_LAUNCH, defaults.launch):
 * `local` and `docker` win outright; `auto` (the default) is Docker when every experiment leaves
 * the choice open, every backend of the study can launch in Docker, and each says it is ready now
 * (`BackendPlugin.dockerReadiness`: a client, a daemon, the image), else a local process group,
 * without a failed first run. An experiment's own `launch: local|docker` lets each decide.
 */
export async function resolveLaunch(
  choice: LaunchChoice,
  plan: Pick<StudyPlan, 'experiments'>,
  backends: BackendCatalog,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LaunchDecision> {
  if (choice !== 'auto') return { launch: choice, reason: `launch ${choice}` };
  if (plan.experiments.some((e) => e.config.launch === 'local' || e.config.launch === 'docker'))
    return { launch: undefined, reason: 'the config chooses the launch mode' };
  const plugins = [...new Set(plan.experiments.map((e) => e.config.backend))].map((name) =>
    backends.get(name),
  );
  if (plugins.some((plugin) => !plugin?.supportedLaunchModes?.includes('docker') || !plugin.dockerReadiness))
    return { launch: undefined, reason: 'auto: a backend of this run has no Docker launch' };
  for (const plugin of plugins) {
    const readiness = await plugin!.dockerReadiness!(env);
    if (!readiness.ready) return { launch: 'local', reason: `auto: ${readiness.reason}, running locally` };
  }
  return { launch: 'docker', reason: 'auto: Docker and the backend images are ready' };
}
