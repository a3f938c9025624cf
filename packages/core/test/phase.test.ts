import { describe, expect, it } from 'vitest';
import {
  type Clock,
  canTransition,
  createState,
  EXPERIMENT_PHASES,
  type ExperimentPhase,
  ExperimentStateSchema,
  InvalidStateTransitionError,
  isComplete,
  isoUtc,
  markFailed,
  transition,
  withProcess,
} from '../src/index.js';
import { steppingClock } from '../src/testing/index.js';

const LEGAL = new Set(['initialising>measuring', 'measuring>done']);
const PAIRS = EXPERIMENT_PHASES.flatMap((from) => EXPERIMENT_PHASES.map((to) => [from, to] as const));

function stateIn(phase: ExperimentPhase, clock: Clock) {
  const created = createState('exp-1', 'aaaaaaaaaaaaaaaa', { clock });
  if (phase === 'initialising') return created;
  const measuring = transition(created, 'measuring', clock);
  return phase === 'measuring' ? measuring : transition(measuring, 'done', clock);
}

describe('phase table', () => {
  it('covers all nine pairs', () => {
    expect(PAIRS).toHaveLength(9);
  });

  it.each(PAIRS)('%s -> %s follows the table, failed or not', (from, to) => {
    const legal = LEGAL.has(`${from}>${to}`);
    expect(canTransition(from, to)).toBe(legal);
    const clock = steppingClock();
    for (const state of [stateIn(from, clock), markFailed(stateIn(from, clock), 'boom', 'error', clock)]) {
      if (legal) {
        const next = transition(state, to, clock);
        expect(next.phase).toBe(to);
        expect(next.failed).toBe(state.failed);
        expect(ExperimentStateSchema.parse(next)).toEqual(next);
      } else {
        let thrown: unknown;
        try {
          transition(state, to, clock);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(InvalidStateTransitionError);
        const error = thrown as InvalidStateTransitionError;
        expect(error.message).toContain(from);
        expect(error.message).toContain(to);
        expect(error).toMatchObject({ from, to, exitCode: 1 });
        expect(error.fix).toMatch(/initialising -> measuring/);
      }
    }
  });
});

describe('state functions', () => {
  it('createState starts initialising, not failed, revision 0, with deterministic UTC timestamps', () => {
    const clock = steppingClock('2026-03-04T05:06:07.089Z');
    const state = createState('exp-1', null, { clock, studyId: 'study', cycle: 1 });
    expect(state).toMatchObject({
      phase: 'initialising',
      failed: false,
      failureKind: null,
      configHash: null,
      startedAt: null,
      revision: 0,
      attempt: 0,
      studyId: 'study',
      cycle: 1,
      createdAt: '2026-03-04T05:06:07.089Z',
      lastUpdated: '2026-03-04T05:06:07.089Z',
    });
    expect(ExperimentStateSchema.parse(state)).toEqual(state);
  });

  it('transition to measuring stamps startedAt; to done keeps it; the input is untouched', () => {
    const clock = steppingClock('2026-01-01T00:00:00.000Z');
    const created = createState('exp-1', null, { clock });
    const measuring = transition(created, 'measuring', clock);
    expect(measuring.startedAt).toBe('2026-01-01T00:00:01.000Z');
    expect(measuring.lastUpdated).toBe('2026-01-01T00:00:01.000Z');
    expect(created.phase).toBe('initialising');
    expect(created.startedAt).toBeNull();
    const done = transition(measuring, 'done', clock);
    expect(done.startedAt).toBe('2026-01-01T00:00:01.000Z');
    expect(done.lastUpdated).toBe('2026-01-01T00:00:02.000Z');
    expect(isComplete(done)).toBe(true);
  });

  it.each(EXPERIMENT_PHASES)('markFailed in %s never moves the phase', (phase) => {
    const clock = steppingClock();
    const state = stateIn(phase, clock);
    const failed = markFailed(state, 'out of memory', 'error', clock);
    expect(failed).toMatchObject({
      phase,
      failed: true,
      failureKind: 'error',
      errorMessage: 'out of memory',
    });
    expect(failed.lastUpdated > state.lastUpdated).toBe(true);
    expect(isComplete(failed)).toBe(false);
  });

  it('withProcess records pid and host, and clears the host with the pid', () => {
    const clock = steppingClock();
    const state = withProcess(createState('exp-1'), 123, clock, 'node-7');
    expect(state).toMatchObject({ subprocessPid: 123, hostName: 'node-7' });
    expect(withProcess(state, null, clock, 'node-7')).toMatchObject({ subprocessPid: null, hostName: null });
  });

  it('timestamps are ISO-8601 UTC with milliseconds from the real clock too', () => {
    const state = createState('exp-1');
    expect(state.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(isoUtc(new Date(Date.UTC(2026, 10, 28, 23, 59, 59, 5)))).toBe('2026-11-28T23:59:59.005Z');
  });

  it('createState rejects an unsafe id', () => {
    expect(() => createState('../x')).toThrow(/path separator|\.\./);
  });
});
