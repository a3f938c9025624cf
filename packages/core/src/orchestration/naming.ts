import { join } from 'node:path';
import type { ExperimentConfig } from '../config/experiment.js';
import { sanitizeExperimentId, slugify } from '../security/ids.js';

/**
 * Names of studies, runs and result directories. Ids are stable (the same study file gives the
 * same ids on every machine, so a second `llem run` resumes) and safe (sanitizeExperimentId).
 */

/** `<name>-<design hash 8>`: readable, and a changed design gets a new id. */
export function studyIdFor(name: string, designHash: string): string {
  return sanitizeExperimentId(`${slugify(name, 64)}-${designHash.slice(0, 8)}`);
}

/** One run of a study: `<study-id>__<config-hash>__c<cycle>` (at most 64+9+2+16+3+4 = 98 chars). */
export function studyRunId(studyId: string, configHash: string, cycle: number): string {
  return sanitizeExperimentId(`${studyId}__${configHash}__c${cycle}`);
}

/** A lone experiment: `<model-slug>_<backend>_<config-hash>`. */
export function experimentRunId(config: ExperimentConfig, configHash: string): string {
  return sanitizeExperimentId(`${slugify(config.model, 40)}_${slugify(config.backend, 24)}_${configHash}`);
}

/** Result directory name: `<model-slug>_<backend>_<hash8>`, plus `_c<cycle>` inside a study. */
export function resultDirName(config: ExperimentConfig, configHash: string, cycle: number | null): string {
  const base = `${resultDirPrefix(config)}_${configHash.slice(0, 8)}`;
  return cycle === null ? base : `${base}_c${cycle}`;
}

/** The part of a result directory name that names the model and backend: `<model-slug>_<backend>`. */
export function resultDirPrefix(config: Pick<ExperimentConfig, 'model' | 'backend'>): string {
  return `${slugify(config.model, 40)}_${slugify(config.backend, 24)}`;
}

/** Where a study's results go: `<resultsDir>/<study-id>`; a lone experiment writes into resultsDir. */
export function studyDirFor(resultsDir: string, studyId: string | null): string {
  return studyId === null ? resultsDir : join(resultsDir, studyId);
}

/** Scratch space of one attempt (launch files, workload output) under the study (or results) dir. */
export const WORK_DIR_NAME = '.llem-work';
