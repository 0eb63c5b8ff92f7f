import type { Condition, Finding } from './finding.js';

/**
 * A cluster node Swarm reports down (or disconnected). The platform's admins are told: the node's
 * instances cannot answer until it returns or they are recovered elsewhere.
 */
export const nodeDown: Condition = {
  kinds: ['node_down'],
  async evaluate({ db, clock }) {
    const rows = await db
      .selectFrom('hosts as h')
      .select([
        'h.id',
        'h.name',
        'h.node_state',
        'h.node_state_since',
        (eb) =>
          eb
            .selectFrom('instances as i')
            .select((e) => e.fn.countAll<string>().as('n'))
            .whereRef('i.host_id', '=', 'h.id')
            .where('i.status', '!=', 'deleting')
            .as('instances'),
      ])
      .where('h.role', 'in', ['manager', 'worker'])
      .where('h.node_state', 'in', ['down', 'disconnected'])
      .execute();
    const now = clock.now().getTime();
    return rows.map((r): Finding => {
      const seconds = r.node_state_since ? Math.max(0, Math.round((now - r.node_state_since.getTime()) / 1000)) : null;
      const instances = Number(r.instances ?? 0);
      return {
        kind: 'node_down',
        subject: r.id,
        target: {
          instanceId: null,
          name: r.name,
          label: `node ${r.name}`,
          url: null,
          organizationId: null,
          organizationName: 'the platform',
          path: '/nodes',
        },
        details: {
          summary: `Swarm reports node ${r.name} ${r.node_state}${seconds === null ? '' : ` for ${seconds} s`}; ${instances} instance${instances === 1 ? '' : 's'} on it cannot answer.`,
          nodeState: r.node_state,
          instances,
        },
      };
    });
  },
};
