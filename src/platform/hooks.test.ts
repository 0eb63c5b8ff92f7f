import { describe, expect, it } from 'vitest';
import { Hooks } from './hooks.js';

type TestHooks = {
  beforeDelete: (id: string) => Promise<void>;
  mounts: (id: string) => Promise<string[]>;
};

describe('hooks between modules', () => {
  it('runs every handler in the order they were added, with the arguments given, and answers their results', async () => {
    const hooks = new Hooks<TestHooks>();
    const calls: string[] = [];
    hooks.on('beforeDelete', async (id) => {
      calls.push(`first ${id}`);
    });
    hooks.on('beforeDelete', async (id) => {
      calls.push(`second ${id}`);
    });
    hooks.on('mounts', async (id) => [`/a/${id}`]);
    hooks.on('mounts', async (id) => [`/b/${id}`, `/c/${id}`]);
    await hooks.run('beforeDelete', 'x');
    expect(calls).toEqual(['first x', 'second x']);
    expect((await hooks.run('mounts', 'y')).flat()).toEqual(['/a/y', '/b/y', '/c/y']);
  });

  it('answers nothing for a hook no module handles', async () => {
    expect(await new Hooks<TestHooks>().run('mounts', 'z')).toEqual([]);
  });

  it('stops at the first handler that fails, and the caller sees its error', async () => {
    const hooks = new Hooks<TestHooks>();
    let reached = false;
    hooks.on('beforeDelete', async () => {
      throw new Error('the safety backup failed');
    });
    hooks.on('beforeDelete', async () => {
      reached = true;
    });
    await expect(hooks.run('beforeDelete', 'x')).rejects.toThrow('the safety backup failed');
    expect(reached).toBe(false);
  });
});
