import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createState,
  type ExperimentState,
  markFailed,
  ownerVerdict,
  staleVerdict,
  systemClock,
  transition,
  withOwner,
  withProcess,
  withSchedulerJob,
} from '../../src/index.js';
import { claimRun } from '../../src/orchestration/index.js';
import { JsonFileTestStore } from './helpers/json-file-store.js';

const clock = { now: () => new Date('2026-11-28T12:00:00.000Z'), monotonicNs: () => 0n };
const alive = (live: number[]) => (pid: number) => live.includes(pid);
const measuring = (workload: number, owner: number | null): ExperimentState => {
  let state = transition(createState('exp', null, { clock }), 'measuring', clock);
  if (owner !== null) state = withOwner(state, owner, clock, 'here');
  return withProcess(state, workload, clock, 'here');
};

/** A plain claim of 'exp' (no study, no force, no reuse). */
const request = {
  experimentId: 'exp',
  configHash: 'aaaaaaaaaaaaaaaa',
  studyId: null,
  cycle: null,
  force: false,
  reuseByHash: false,
};

describe('liveness of a claimed run', () => {
  it('a measuring state stays live while its owner collects after the workload exited', () => {
    expect(staleVerdict(measuring(10, 20), alive([20]), 'here')).toEqual({ stale: false });
    expect(staleVerdict(measuring(10, 20), alive([10]), 'here')).toEqual({ stale: false });
    expect(staleVerdict(measuring(10, 20), alive([]), 'here')).toMatchObject({ stale: true });
    // Records without an owner (older llem) keep the workload-only rule.
    expect(staleVerdict(measuring(10, null), alive([]), 'here')).toMatchObject({ stale: true });
    // Another host cannot be checked from here.
    expect(staleVerdict(measuring(10, 20), alive([]), 'elsewhere')).toEqual({ stale: false });
  });

  it('an initialising state belongs to its owner; an unowned one only after a grace period', () => {
    const owned = withOwner(createState('exp', null, { clock }), 20, clock, 'here');
    expect(ownerVerdict(owned, clock, alive([20]), 'here')).toEqual({ stale: false });
    expect(ownerVerdict(owned, clock, alive([]), 'here')).toMatchObject({
      stale: true,
      reason: expect.stringContaining('llem process 20'),
    });
    const unowned = createState('exp', null, { clock });
    expect(ownerVerdict(unowned, clock, alive([]), 'here')).toEqual({ stale: false });
    const later = { now: () => new Date('2026-11-28T12:05:00.000Z'), monotonicNs: () => 0n };
    expect(ownerVerdict(unowned, later, alive([]), 'here')).toMatchObject({ stale: true });
  });
});

describe('claimRun on a real store', () => {
  it('of two concurrent retries of a failed run exactly one wins (revision check), the other is busy', async () => {
    const store = new JsonFileTestStore(await mkdtemp(join(tmpdir(), 'llem-claim-')));
    const created = await store.create('exp', 'aaaaaaaaaaaaaaaa');
    await store.save(markFailed(created, 'boom'));
    for (let round = 0; round < 5; round++) {
      const claims = await Promise.all([
        claimRun(store, request, systemClock),
        claimRun(store, request, systemClock),
      ]);
      expect(claims.map((c) => c.kind).sort()).toEqual(['busy', 'claimed']);
      const winner = claims.find((c) => c.kind === 'claimed')!;
      expect(await store.load('exp')).toMatchObject({
        phase: 'initialising',
        failed: false,
        ownerPid: process.pid,
        attempt: round + 1,
      });
      if (winner.kind === 'claimed') await store.save(markFailed(winner.state, 'boom again'));
    }
  });

  it('of two concurrent first claims exactly one creates the record', async () => {
    const store = new JsonFileTestStore(await mkdtemp(join(tmpdir(), 'llem-claim-')));
    const claims = await Promise.all([
      claimRun(store, request, systemClock),
      claimRun(store, request, systemClock),
    ]);
    expect(claims.map((c) => c.kind).sort()).toEqual(['busy', 'claimed']);
    expect(await store.load('exp')).toMatchObject({ attempt: 1, ownerPid: process.pid });
  });
});

describe('claimRun from inside a scheduler job', () => {
  it('takes over the state the submitter claimed for exactly this job, keeping its attempt', async () => {
    const store = new JsonFileTestStore(await mkdtemp(join(tmpdir(), 'llem-claim-')));
    // The submitter (a live process: this one's parent) claimed it and recorded job 42.
    const submitted = await claimRun(store, request, systemClock);
    if (submitted.kind !== 'claimed') throw new Error('submitter did not claim');
    await store.save(
      withSchedulerJob(withOwner(submitted.state, process.ppid, systemClock), { name: 'slurm', jobId: '42' }),
    );
    expect(await claimRun(store, request, systemClock)).toMatchObject({ kind: 'busy' });
    const other = await claimRun(
      store,
      { ...request, schedulerJob: { name: 'slurm', jobId: '43' } },
      systemClock,
    );
    expect(other.kind).toBe('busy');
    const job = await claimRun(
      store,
      { ...request, schedulerJob: { name: 'slurm', jobId: '42' } },
      systemClock,
    );
    expect(job.kind).toBe('claimed');
    expect(await store.load('exp')).toMatchObject({
      attempt: 1,
      ownerPid: process.pid,
      scheduler: { name: 'slurm', jobId: '42' },
    });
  });

  it('does not take over a state that is already failed', async () => {
    const store = new JsonFileTestStore(await mkdtemp(join(tmpdir(), 'llem-claim-')));
    const created = await store.create('exp', 'aaaaaaaaaaaaaaaa');
    await store.save(markFailed(withSchedulerJob(created, { name: 'slurm', jobId: '7' }), 'cancelled'));
    const claim = await claimRun(
      store,
      { ...request, schedulerJob: { name: 'slurm', jobId: '7' } },
      systemClock,
    );
    // A failed run is retried as a new attempt, not resumed.
    expect(claim).toMatchObject({ kind: 'claimed', state: { attempt: 1, scheduler: null } });
  });
});
