/**
 * Worker beats as the dashboard relies on them: a process is listed from its start, its stop
 * record comes after every beat (never overtaken by one), a store that refuses beats costs a
 * warning and nothing else, and each way a process ends under the manager gets its reason.
 */
import { describe, expect, it } from 'vitest';
import type { WorkerBeat, WorkerEnd, WorkerRegistry } from '../../src/store/admin-store.ts';
import { Heartbeats, endOf } from '../../src/worker/heartbeat.ts';
import { TestClock, until } from '../helpers/clock.ts';

class Registry implements WorkerRegistry {
  log: string[] = [];
  failing = false;
  attempts = 0;
  async beat(beat: WorkerBeat) {
    this.attempts++;
    await new Promise((r) => setTimeout(r, 5)); // a store's round trip: time on purpose, so a beat is under way when the stop comes
    if (this.failing) throw new Error('store down');
    this.log.push(`beat ${beat.pid} running=${beat.running.length} done=${beat.done}`);
  }
  async workerStopped(id: string, end: WorkerEnd) {
    if (this.failing) throw new Error('store down');
    this.log.push(`stopped ${id.split(':')[1]} ${end}`);
  }
  async listWorkers() {
    return [];
  }
}

describe('heartbeats', () => {
  it('beats at once, then every interval, and writes the stop record after the last beat with nothing running', async () => {
    const registry = new Registry();
    const beats = new Heartbeats(registry, { warn: () => undefined }, new TestClock(), 20);
    let done = 0;
    const id = beats.add(() => ({ pid: 42, queues: null, running: [{ id: '1', name: 'x', queue: 'default', startedAt: 0 }], done, failed: 0 }));
    expect(id).toMatch(/^.+:42:\d+$/);
    await until(() => registry.log.length >= 3);
    done = 3;
    beats.stopped(id, 'empty');
    await beats.close();
    expect(registry.log[0]).toBe('beat 42 running=1 done=0');
    expect(registry.log.length).toBeGreaterThanOrEqual(4);
    expect(registry.log.slice(-2)).toEqual(['beat 42 running=0 done=3', 'stopped 42 empty']);
  });

  it('warns once while the store refuses beats, and never throws', async () => {
    const registry = new Registry();
    registry.failing = true;
    const warnings: string[] = [];
    const beats = new Heartbeats(registry, { warn: ((_: unknown, msg: string) => void warnings.push(msg)) as never }, new TestClock(), 10);
    const id = beats.add(() => ({ pid: 1, queues: ['a'], running: [], done: 0, failed: 0 }));
    await until(() => registry.attempts >= 4);
    beats.stopped(id, 'signal');
    await beats.close();
    expect(warnings).toHaveLength(1);
  });

  it("names how a process under the manager ended: its own reason, or 'timeout-kill' / 'crash' seen from outside", () => {
    expect(endOf('finished', 'empty')).toBe('empty');
    expect(endOf('finished', 'recycled')).toBe('recycled');
    expect(endOf('timed-out', null)).toBe('timeout-kill');
    expect(endOf('died-running', null)).toBe('crash');
    expect(endOf('died-idle', null)).toBe('crash');
    expect(endOf('force-killed', 'signal')).toBe('forced');
    expect(endOf('replace', 'memory')).toBe('memory');
  });
});
