import { describe, expect, it } from 'vitest';
import {
  createState,
  type ExperimentState,
  ownerVerdict,
  staleVerdict,
  transition,
  withOwner,
  withProcess,
} from '../../src/index.js';

const clock = { now: () => new Date('2026-11-28T12:00:00.000Z'), monotonicNs: () => 0n };
const alive = (live: number[]) => (pid: number) => live.includes(pid);
const measuring = (workload: number, owner: number | null): ExperimentState => {
  let state = transition(createState('exp', null, { clock }), 'measuring', clock);
  if (owner !== null) state = withOwner(state, owner, clock, 'here');
  return withProcess(state, workload, clock, 'here');
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
