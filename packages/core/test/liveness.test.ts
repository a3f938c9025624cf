import { spawn, spawnSync } from 'node:child_process';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assertStorableState,
  ConfigError,
  createState,
  defaultStateDir,
  type ExperimentState,
  isProcessAlive,
  isZombie,
  parseStoredState,
  STATE_SCHEMA_VERSION,
  StateStoreError,
  staleVerdict,
  transition,
  withProcess,
} from '../src/index.js';

const throwing = (code: string) => () => {
  throw Object.assign(new Error(code), { code });
};

describe('isProcessAlive', () => {
  it('our own process is alive; a reaped child is not', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    const pid = spawnSync(process.execPath, ['-e', '0']).pid!;
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('EPERM from kill(pid, 0) means alive (the process belongs to someone else); ESRCH means gone', () => {
    expect(isProcessAlive(12345, throwing('EPERM'))).toBe(true);
    expect(isProcessAlive(12345, throwing('ESRCH'))).toBe(false);
  });

  it('a zombie (exited, not yet reaped) counts as dead although kill(pid, 0) still succeeds', async () => {
    // `sleep` inherits the backgrounded child and never waits for it: the child stays a zombie.
    const parent = spawn('/bin/sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 5'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const pid = Number(
        await new Promise<string>((resolve) =>
          parent.stdout.once('data', (d: Buffer) => resolve(d.toString())),
        ),
      );
      for (let i = 0; i < 100 && !isZombie(pid); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(isZombie(pid)).toBe(true);
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(isProcessAlive(pid)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

describe('staleVerdict', () => {
  const measuring = (pid: number | null, host: string | null = hostname()): ExperimentState => {
    const state = transition(createState('exp-1'), 'measuring');
    return pid === null ? state : { ...withProcess(state, pid), hostName: host };
  };

  it('a dead local process is stale, with a message naming the pid', () => {
    const verdict = staleVerdict(measuring(4242), () => false);
    expect(verdict).toEqual({ stale: true, reason: expect.stringContaining('4242') });
  });

  it('a live process, or a state on another host, is not stale', () => {
    expect(staleVerdict(measuring(4242), () => true)).toEqual({ stale: false });
    expect(staleVerdict(measuring(4242, 'other-host'), () => false)).toEqual({ stale: false });
  });

  it('measuring without a pid is stale; other phases and failed states never are', () => {
    expect(staleVerdict(measuring(null), () => true).stale).toBe(true);
    expect(staleVerdict(createState('exp-1'), () => false).stale).toBe(false);
    expect(staleVerdict({ ...measuring(1), failed: true }, () => false).stale).toBe(false);
    expect(staleVerdict(transition(measuring(1), 'done'), () => false).stale).toBe(false);
  });
});

describe('defaultStateDir', () => {
  it('prefers LLEM_STATE_DIR, then an absolute XDG_STATE_HOME, then ~/.local/state', () => {
    expect(defaultStateDir({ LLEM_STATE_DIR: '/srv/llem', XDG_STATE_HOME: '/x' })).toBe('/srv/llem');
    expect(defaultStateDir({ XDG_STATE_HOME: '/x/state' })).toBe('/x/state/llenergymeasure');
    expect(defaultStateDir({ XDG_STATE_HOME: 'relative/ignored' })).toBe(
      join(homedir(), '.local', 'state', 'llenergymeasure'),
    );
    expect(defaultStateDir({})).toBe(join(homedir(), '.local', 'state', 'llenergymeasure'));
  });
});

describe('parseStoredState / assertStorableState', () => {
  const state = { ...createState('exp-1', 'aaaaaaaaaaaaaaaa'), revision: 3 };

  it('round-trips a stored record', () => {
    expect(parseStoredState(JSON.stringify(state), 'f.json', 'exp-1')).toEqual(state);
  });

  it.each([
    ['truncated JSON', '{"experimentId":', /f\.json: not valid JSON/],
    ['a schema mismatch', JSON.stringify({ ...state, phase: 'gone' }), /Corrupt state record f\.json: phase/],
    ['an unknown field', JSON.stringify({ ...state, extra: 1 }), /f\.json/],
    ['a newer schemaVersion', JSON.stringify({ ...state, schemaVersion: STATE_SCHEMA_VERSION + 1 }), /newer/],
    [
      'another experiment',
      JSON.stringify({ ...state, experimentId: 'exp-2' }),
      /belongs to experiment 'exp-2'/,
    ],
  ])('rejects %s with a StateStoreError naming the record', (_, text, pattern) => {
    expect(() => parseStoredState(text, 'f.json', 'exp-1')).toThrow(StateStoreError);
    expect(() => parseStoredState(text, 'f.json', 'exp-1')).toThrow(pattern);
  });

  it('refuses to store an unsafe id (ConfigError) or an invalid state (StateStoreError)', () => {
    expect(() => assertStorableState({ ...state, experimentId: '../x' })).toThrow(ConfigError);
    expect(() => assertStorableState({ ...state, revision: -1 })).toThrow(StateStoreError);
  });
});
