import { describe, expect, it } from 'vitest';
import {
  choosePlacement,
  type PlacedInstance,
  type PlacementNode,
  type PlacementRequest,
  type PlacementResult,
} from './placement.js';

const GIB = 1024 ** 3;
const CPU = 1e9;

const node = (name: string, overrides: Partial<PlacementNode> = {}): PlacementNode => ({
  hostId: `host-${name}`,
  name,
  nodeState: 'ready',
  availability: 'active',
  cpus: 4,
  memoryBytes: 8 * GIB,
  dedicatedTo: [],
  ...overrides,
});

const placed = (name: string, overrides: Partial<PlacedInstance> = {}): PlacedInstance => ({
  hostId: `host-${name}`,
  organizationId: 'org-a',
  stage: 'production',
  memoryBytes: GIB,
  nanoCpus: CPU,
  ...overrides,
});

const request = (overrides: Partial<PlacementRequest> = {}): PlacementRequest => ({
  organizationId: 'org-a',
  stage: 'production',
  memoryBytes: GIB,
  nanoCpus: CPU,
  planSlug: null,
  ...overrides,
});

const chosenHost = (result: PlacementResult) => (result.ok ? result.hostId : `refused: ${result.message}`);

describe('choosePlacement capacity', () => {
  const small = node('node1', { memoryBytes: 4 * GIB, cpus: 2 });
  const existing = [placed('node1', { memoryBytes: 1.5 * GIB, nanoCpus: CPU })];

  it('fits memory exactly up to capacity minus the 512 MiB reserve minus what is guaranteed', () => {
    expect(chosenHost(choosePlacement([small], existing, request({ memoryBytes: 2 * GIB, nanoCpus: 0.5 * CPU })))).toBe(
      'host-node1',
    );
    const over = choosePlacement([small], existing, request({ memoryBytes: 2 * GIB + 1, nanoCpus: 0.5 * CPU }));
    expect(over).toMatchObject({ ok: false, rejected: [{ hostId: 'host-node1', reason: 'node1 has 2 GB free' }] });
  });

  it('fits CPUs up to capacity minus the 0.25 CPU reserve minus what is guaranteed', () => {
    expect(chosenHost(choosePlacement([small], existing, request({ nanoCpus: 0.75 * CPU })))).toBe('host-node1');
    const over = choosePlacement([small], existing, request({ nanoCpus: 760_000_000 }));
    expect(over).toMatchObject({ ok: false, rejected: [{ reason: 'node1 has 0.75 CPUs free' }] });
  });

  it('names both shortages at once and honours overridden reserves', () => {
    const big = request({ memoryBytes: 3 * GIB, nanoCpus: 1.5 * CPU });
    expect(choosePlacement([small], existing, big)).toMatchObject({
      ok: false,
      rejected: [{ reason: 'node1 has 2 GB and 0.75 CPUs free' }],
    });
    const noReserve = choosePlacement([small], existing, request({ memoryBytes: 2.5 * GIB, nanoCpus: CPU }), {
      reserveMemoryBytes: 0,
      reserveCpus: 0,
    });
    expect(chosenHost(noReserve)).toBe('host-node1');
  });
});

describe('choosePlacement refusal', () => {
  it('lists every node with its reason, sorted by name, in the message and in rejected', () => {
    const nodes = [
      node('node3', { dedicatedTo: ['enterprise'] }),
      node('node1', { nodeState: 'down' }),
      node('node2', { memoryBytes: 4 * GIB }),
      node('node4', { availability: 'drain' }),
      node('node5', { availability: 'pause' }),
      node('node6', { nodeState: 'disconnected' }),
      node('node7', { nodeState: 'unknown' }),
    ];
    const result = choosePlacement(
      nodes,
      [placed('node2', { memoryBytes: 2.3 * GIB })],
      request({ memoryBytes: 2 * GIB }),
    );
    expect(result).toEqual({
      ok: false,
      message:
        "No node can take an instance of 2 GB and 1 CPU: node1 is down; node2 has 1.2 GB free; node3 is dedicated to plan 'enterprise'; " +
        "node4 is drained; node5 is paused; node6 is disconnected; node7's state is unknown.",
      rejected: [
        { hostId: 'host-node1', name: 'node1', reason: 'node1 is down' },
        { hostId: 'host-node2', name: 'node2', reason: 'node2 has 1.2 GB free' },
        { hostId: 'host-node3', name: 'node3', reason: "node3 is dedicated to plan 'enterprise'" },
        { hostId: 'host-node4', name: 'node4', reason: 'node4 is drained' },
        { hostId: 'host-node5', name: 'node5', reason: 'node5 is paused' },
        { hostId: 'host-node6', name: 'node6', reason: 'node6 is disconnected' },
        { hostId: 'host-node7', name: 'node7', reason: "node7's state is unknown" },
      ],
    });
  });

  it('says so when the cluster has no nodes', () => {
    expect(choosePlacement([], [], request({ nanoCpus: 1.5 * CPU }))).toEqual({
      ok: false,
      message: 'No node can take an instance of 1 GB and 1.5 CPUs: the cluster has no nodes.',
      rejected: [],
    });
  });
});

describe('choosePlacement node state', () => {
  it('skips down, drained and paused nodes even when they have the most room', () => {
    const nodes = [
      node('roomy-down', { nodeState: 'down', memoryBytes: 64 * GIB }),
      node('roomy-drain', { availability: 'drain', memoryBytes: 64 * GIB }),
      node('roomy-pause', { availability: 'pause', memoryBytes: 64 * GIB }),
      node('tight', { memoryBytes: 2 * GIB }),
    ];
    expect(chosenHost(choosePlacement(nodes, [], request()))).toBe('host-tight');
  });
});

describe('choosePlacement plans', () => {
  const shared = node('shared', { memoryBytes: 4 * GIB });
  const dedicated = node('dedicated', { memoryBytes: 32 * GIB, dedicatedTo: ['enterprise', 'premium'] });

  it('keeps a dedicated node for its plans only', () => {
    expect(chosenHost(choosePlacement([dedicated, shared], [], request()))).toBe('host-shared');
    expect(chosenHost(choosePlacement([dedicated, shared], [], request({ planSlug: 'starter' })))).toBe('host-shared');
    expect(chosenHost(choosePlacement([shared, dedicated], [], request({ planSlug: 'premium' })))).toBe(
      'host-dedicated',
    );
    const refused = choosePlacement([dedicated], [], request({ planSlug: 'starter' }));
    expect(refused.ok ? '' : refused.message).toContain("dedicated is dedicated to plans 'enterprise', 'premium'");
  });

  it('does not spill a dedicated plan onto shared nodes when its nodes are full or down', () => {
    const full = [placed('dedicated', { memoryBytes: 31 * GIB })];
    const whenFull = choosePlacement([dedicated, shared], full, request({ planSlug: 'enterprise' }));
    expect(whenFull).toMatchObject({
      ok: false,
      rejected: [
        { hostId: 'host-dedicated', reason: 'dedicated has 0.5 GB free' },
        { hostId: 'host-shared', reason: "shared is shared and plan 'enterprise' goes only to its dedicated nodes" },
      ],
    });
    const down = { ...dedicated, nodeState: 'down' as const };
    expect(chosenHost(choosePlacement([down, shared], [], request({ planSlug: 'enterprise' })))).toMatch(/^refused: /);
  });
});

describe('choosePlacement spreading', () => {
  // node1 holds one of org-a's production instances; node2 holds two bigger ones of org-b, so less free memory.
  const nodes = [node('node1'), node('node2')];
  const instances = [
    placed('node1', { organizationId: 'org-a', memoryBytes: GIB }),
    placed('node2', { organizationId: 'org-b', memoryBytes: 2 * GIB }),
    placed('node2', { organizationId: 'org-b', memoryBytes: 2 * GIB }),
  ];

  it("spreads an organization's production over nodes, ignoring other organizations' instances", () => {
    const forA = choosePlacement(nodes, instances, request({ organizationId: 'org-a' }));
    expect(forA).toEqual({
      ok: true,
      hostId: 'host-node2',
      name: 'node2',
      reason:
        'node2: 2.5 GB (31 %) free after this instance (most free memory among the nodes with the fewest); ' +
        "0 of this organization's production instances there",
    });
    expect(chosenHost(choosePlacement(nodes, instances, request({ organizationId: 'org-b' })))).toBe('host-node1');
    expect(chosenHost(choosePlacement(nodes, instances, request({ organizationId: 'org-c' })))).toBe('host-node1');
  });

  it('does not spread staging or development: they go where memory is most free', () => {
    for (const stage of ['staging', 'development'] as const)
      expect(chosenHost(choosePlacement(nodes, instances, request({ organizationId: 'org-a', stage })))).toBe(
        'host-node1',
      );
  });

  it('counts only production instances of the organization when spreading', () => {
    // Were staging counted, both nodes would tie at one and node2, with more free memory, would win.
    const mixed = [placed('node1', { stage: 'staging', memoryBytes: 4 * GIB }), placed('node2', { memoryBytes: GIB })];
    expect(chosenHost(choosePlacement(nodes, mixed, request()))).toBe('host-node1');
  });
});

describe('choosePlacement free memory', () => {
  it('prefers the largest share of free memory after placement, not the most bytes', () => {
    const nodes = [node('big', { memoryBytes: 16 * GIB }), node('small', { memoryBytes: 8 * GIB })];
    const instances = [placed('big', { organizationId: 'org-z', stage: 'staging', memoryBytes: 7 * GIB })];
    const result = choosePlacement(nodes, instances, request({ stage: 'staging' }));
    expect(result).toEqual({
      ok: true,
      hostId: 'host-small',
      name: 'small',
      reason: 'small: 6.5 GB (81 %) free after this instance (most free memory)',
    });
  });

  it('breaks ties by name whatever the order nodes arrive in', () => {
    // Host ids ordered against the names, so only the name can decide.
    const nodes = [
      node('node-b', { hostId: 'h2' }),
      node('node-c', { hostId: 'h1' }),
      node('node-a', { hostId: 'h3' }),
    ];
    expect(chosenHost(choosePlacement(nodes, [], request()))).toBe('h3');
    expect(chosenHost(choosePlacement([...nodes].reverse(), [], request()))).toBe('h3');
  });
});

describe('choosePlacement validation', () => {
  it.each([
    ['memoryBytes', 0],
    ['memoryBytes', -GIB],
    ['memoryBytes', 1.5],
    ['memoryBytes', Number.NaN],
    ['memoryBytes', Number.POSITIVE_INFINITY],
    ['nanoCpus', 0],
    ['nanoCpus', 0.5],
  ] as const)('throws on %s = %s', (field, value) => {
    expect(() => choosePlacement([node('node1')], [], request({ [field]: value }))).toThrow(
      `Placement request ${field} must be a positive integer, got ${String(value)}.`,
    );
  });

  it('throws on a negative reserve', () => {
    expect(() => choosePlacement([node('node1')], [], request(), { reserveCpus: -1 })).toThrow(
      'Placement option reserveCpus must be a non-negative number, got -1.',
    );
  });
});
