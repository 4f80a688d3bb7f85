import { describe, expect, it } from 'vitest';
import { EXIT_ACTIONS, classifyExit, type ExitFacts } from '../../src/manager/child-exit.ts';

const facts = (over: Partial<ExitFacts>): ExitFacts => ({
  code: 0, signal: null, killedForTimeout: false, forceKilled: false, stoppedReason: null, loaded: true, fatal: false, watching: false, hadJobs: false, ...over,
});

describe('the exit classification of a worker process', () => {
  it('a process killed for an attempt past its timeout: that attempt fails as timed out, a new process starts', () => {
    const kind = classifyExit(facts({ code: null, signal: 'SIGKILL', killedForTimeout: true, hadJobs: true }));
    expect(kind).toBe('timed-out');
    expect(EXIT_ACTIONS[kind]).toEqual({ settle: 'killed', respawn: 'now' });
  });

  it('a process killed by a forced stop: its jobs go back uncounted, nothing starts again', () => {
    const kind = classifyExit(facts({ code: null, signal: 'SIGKILL', forceKilled: true, hadJobs: true }));
    expect(kind).toBe('force-killed');
    expect(EXIT_ACTIONS[kind]).toEqual({ settle: 'release', respawn: 'never' });
  });

  it('bad configuration ends the run with exit 2; under --watch an edit that does not load only waits for the next', () => {
    expect(classifyExit(facts({ code: 2, loaded: false }))).toBe('bad-code');
    expect(EXIT_ACTIONS['bad-code'].endRun).toBe(2);
    expect(classifyExit(facts({ code: 2, loaded: false, watching: true }))).toBe('broken-edit');
    expect(EXIT_ACTIONS['broken-edit'].endRun).toBeUndefined();
  });

  it('exit 2 after the job files loaded is a death under its jobs (job code calling process.exit(2)), unless the process said it is fatal', () => {
    expect(classifyExit(facts({ code: 2, hadJobs: true }))).toBe('died-running');
    expect(classifyExit(facts({ code: 2, hadJobs: true, fatal: true }))).toBe('bad-code');
  });

  it('a process that said it stopped: replaced only when it stopped for --memory', () => {
    expect(classifyExit(facts({ code: 12, stoppedReason: 'memory' }))).toBe('replace');
    expect(EXIT_ACTIONS.replace.respawn).toBe('now');
    for (const reason of ['signal', 'forced', 'empty', 'once', 'max-jobs', 'max-time', 'restart', 'recycled'] as const) {
      expect(classifyExit(facts({ stoppedReason: reason }))).toBe('finished');
    }
    expect(EXIT_ACTIONS.finished).toEqual({ settle: 'release', respawn: 'never' });
  });

  it('a process that exits without saying so died: its attempts count, and it restarts at once under jobs, after a wait without', () => {
    expect(classifyExit(facts({ code: 7, hadJobs: true }))).toBe('died-running');
    expect(classifyExit(facts({ code: 0, hadJobs: true }))).toBe('died-running');
    expect(classifyExit(facts({ code: null, signal: 'SIGSEGV', hadJobs: false }))).toBe('died-idle');
    expect(EXIT_ACTIONS['died-running']).toEqual({ settle: 'died', respawn: 'now' });
    expect(EXIT_ACTIONS['died-idle']).toEqual({ settle: 'died', respawn: 'backoff' });
  });
});
