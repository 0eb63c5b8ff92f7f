import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable } from '../../components/DataTable';
import { EmptyState, Loading } from '../../components/EmptyState';
import { PlusIcon } from '../../components/icons';
import { PageHeader } from '../../components/PageHeader';
import { useToast } from '../../components/Toast';
import { isOperator } from '../../session/permissions';
import { useMe } from '../../session/SessionContext';
import { NotFoundPage } from '../NotFoundPage';
import { AddNodeForm } from './AddNodeForm';
import {
  activateNode,
  addNode,
  type ClusterNode,
  type DrainMove,
  drainNode,
  type NewNode,
  nodeKeys,
  nodeMovesQuery,
  nodesQuery,
  removeNode,
} from './api';
import { DrainDialog, DrainProgress } from './DrainMoves';
import { AddressCell, CapacityCell, GuaranteedCell, isStandalone, RoleCell, SinceCell, StateCell } from './NodeCells';
import '../../styles/plans.css';
import '../../styles/nodes.css';

/** Platform admins only: the cluster's hosts. Anyone else finds no such page. */
export function NodesPage() {
  const me = useMe();
  if (!isOperator(me)) return <NotFoundPage />;
  return <Nodes />;
}

/**
 * Only a node Swarm has settled (manager or worker) can be drained or activated; one left half-way
 * by a crash (joining, leaving) can still be removed. A paused node is one being drained: its
 * instances are moving off it, and Drain again moves what is left or, once it is empty, drains it
 * in Swarm.
 */
const settled = (node: ClusterNode) => node.role === 'manager' || node.role === 'worker';

function NodeActions({
  node,
  busy,
  onAvailability,
  onRemove,
}: {
  node: ClusterNode;
  busy: boolean;
  onAvailability(node: ClusterNode, to: 'drain' | 'active'): void;
  onRemove(node: ClusterNode): void;
}) {
  if (isStandalone(node)) return null;
  const drained = node.availability === 'drain';
  const draining = node.availability === 'pause';
  return (
    <div className="node-actions">
      {settled(node) && draining ? (
        <button
          type="button"
          className="btn btn-secondary btn-small"
          data-testid="node-drain"
          aria-label={`Drain ${node.name}`}
          title={
            node.instances > 0
              ? 'Move the instances still on the node to other nodes'
              : 'The node is empty: drain it in Swarm too'
          }
          disabled={busy}
          onClick={() => onAvailability(node, 'drain')}
        >
          Drain
        </button>
      ) : null}
      {!settled(node) ? null : drained || draining ? (
        <button
          type="button"
          className="btn btn-secondary btn-small"
          data-testid="node-activate"
          aria-label={`Activate ${node.name}`}
          title="Let the node take new instances again"
          disabled={busy}
          onClick={() => onAvailability(node, 'active')}
        >
          Activate
        </button>
      ) : (
        <button
          type="button"
          className="btn btn-secondary btn-small"
          data-testid="node-drain"
          aria-label={`Drain ${node.name}`}
          title={
            node.instances > 0
              ? 'The node takes no new instances, and its instances move to other nodes'
              : 'The node takes no new instances'
          }
          disabled={busy}
          onClick={() => onAvailability(node, 'drain')}
        >
          Drain
        </button>
      )}
      <button
        type="button"
        className="btn btn-danger-text btn-small"
        data-testid="node-remove"
        aria-label={`Remove ${node.name}`}
        disabled={busy}
        onClick={() => onRemove(node)}
      >
        Remove
      </button>
    </div>
  );
}

/**
 * The moves still going off the nodes being drained (paused or drained), read once when the page
 * opens: a reload during a drain follows them again as a drain click would. Each node's are taken
 * once, so a dismissed list stays dismissed, and those a drain click shows are kept.
 */
function useResumedMoves(
  nodes: ClusterNode[],
  setMoves: (update: (all: Record<string, DrainMove[]>) => Record<string, DrainMove[]>) => void,
) {
  const ids = nodes.filter((n) => n.availability === 'pause' || n.availability === 'drain').map((n) => n.id);
  const read = useQueries({ queries: ids.map((id) => nodeMovesQuery(id)) });
  const taken = useRef(new Set<string>());
  useEffect(() => {
    const found: Record<string, DrainMove[]> = {};
    read.forEach((query, i) => {
      const id = ids[i];
      if (id === undefined || !query.data || taken.current.has(id)) return;
      taken.current.add(id);
      if (query.data.length > 0) found[id] = query.data;
    });
    if (Object.keys(found).length > 0) setMoves((all) => ({ ...found, ...all }));
  });
}

function Nodes() {
  const toast = useToast();
  const queryClient = useQueryClient();
  const nodes = useQuery(nodesQuery());
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<ClusterNode | null>(null);
  const [changing, setChanging] = useState<string | null>(null);
  const [draining, setDraining] = useState<ClusterNode | null>(null);
  // The moves each drain queued (by node), followed until they end and dismissed.
  const [moves, setMoves] = useState<Record<string, DrainMove[]>>({});
  const refresh = () => queryClient.invalidateQueries({ queryKey: nodeKeys.all });
  const list = nodes.data ?? [];
  const inCluster = list.filter((n) => !isStandalone(n));
  useResumedMoves(inCluster, setMoves);

  async function add(input: NewNode) {
    const { node } = await addNode(input);
    toast.success(`${node.name} is a ${node.role} of the cluster.`);
    await refresh();
  }

  async function drained(node: ClusterNode, answer: Awaited<ReturnType<typeof drainNode>>) {
    const queued = answer.moves;
    // Those that cannot move now say why (busy, or no node has room); the others move.
    for (const refusal of answer.refused ?? [])
      toast.error(`${refusal.label} stays on ${node.name}: ${refusal.reason}`);
    if (queued.length > 0) {
      setMoves((all) => ({ ...all, [node.id]: queued }));
      toast.success(
        `${node.name} takes no new instances; ${queued.length === 1 ? '1 instance moves' : `${queued.length} instances move`} to other nodes, one job each.`,
      );
    } else if (answer.node.availability === 'drain')
      toast.success(`${node.name} is drained: it takes no new instances.`);
    else
      toast.success(
        `${node.name} takes no new instances; its instances are busy or not settled: drain it again once they are.`,
      );
    await refresh();
  }

  async function setAvailability(node: ClusterNode, to: 'drain' | 'active') {
    // Instances move: that is asked first.
    if (to === 'drain' && node.instances > 0) return setDraining(node);
    setChanging(node.id);
    try {
      if (to === 'drain') await drained(node, await drainNode(node.id));
      else {
        await activateNode(node.id);
        toast.success(`${node.name} takes instances again.`);
        await refresh();
      }
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setChanging(null);
    }
  }

  return (
    <>
      <PageHeader
        title="Nodes"
        subtitle="The hosts Marina runs instances on, as Docker Swarm sees them; refreshed every 5 seconds."
        actions={
          <button type="button" className="btn btn-primary" onClick={() => setAdding(true)} data-testid="node-add">
            <PlusIcon />
            Add host
          </button>
        }
      />
      {Object.entries(moves).map(([id, queued]) => {
        const node = list.find((n) => n.id === id);
        return node ? (
          <DrainProgress
            key={id}
            node={node}
            moves={queued}
            busy={changing === id}
            onDrainAgain={(n) => void setAvailability(n, 'drain')}
            onDismiss={() => setMoves(({ [id]: _, ...rest }) => rest)}
          />
        ) : null;
      })}
      <section className="card card-flush" aria-label="Nodes">
        {nodes.error ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(nodes.error)}</Alert>
          </div>
        ) : null}
        {nodes.isPending ? <Loading /> : null}
        <DataTable
          label="Nodes"
          className="table-compact nodes-table"
          rows={list}
          rowKey={(n) => n.id}
          rowProps={(n) => ({
            'data-testid': 'node-row',
            'data-node': n.id,
            'data-role': n.role,
            'data-node-state': n.nodeState ?? 'none',
            'data-availability': n.availability ?? 'none',
          })}
          columns={[
            {
              header: 'Name',
              cell: (n) => (
                <div>
                  <span className="row-title">{n.name}</span>
                  {n.dedicatedTo.length > 0 ? (
                    <div className="muted node-dedicated">for {n.dedicatedTo.join(', ')}</div>
                  ) : null}
                </div>
              ),
            },
            { header: 'Role', cell: (n) => <RoleCell node={n} /> },
            {
              header: 'State',
              cell: (n) => (
                <div className="node-stack">
                  <StateCell node={n} />
                  <SinceCell node={n} />
                </div>
              ),
            },
            { header: 'Address', cell: (n) => <AddressCell node={n} />, cellProps: (n) => ({ title: n.dockerHost }) },
            { header: 'Capacity', cell: (n) => <CapacityCell node={n} /> },
            {
              header: 'Guaranteed',
              headerTitle: 'What the instances on the node are guaranteed: the sum of their memory and CPU limits',
              cell: (n) => <GuaranteedCell node={n} />,
            },
            {
              header: 'Instances',
              className: 'num',
              headerClassName: 'num',
              cell: (n) => <span data-testid="node-instances">{n.instances}</span>,
            },
            {
              header: 'Actions',
              hiddenHeader: true,
              className: 'actions',
              cell: (n) => (
                <NodeActions
                  node={n}
                  busy={changing === n.id}
                  onAvailability={(node, to) => void setAvailability(node, to)}
                  onRemove={setRemoving}
                />
              ),
            },
          ]}
        />
        {nodes.data && inCluster.length === 0 ? (
          <div data-testid="nodes-empty">
            <EmptyState title="No host in the cluster yet">
              To add one, expose its Docker engine on TCP with mutual TLS (dockerd --tlsverify), or let Marina in over
              SSH as a user of the docker group, and give its address and certificates or key under Add host; the
              README's “Cluster” section shows the steps.
            </EmptyState>
          </div>
        ) : null}
      </section>
      {adding ? <AddNodeForm firstNode={inCluster.length === 0} onSave={add} onClose={() => setAdding(false)} /> : null}
      {draining ? (
        <DrainDialog node={draining} onClose={() => setDraining(null)} onDrained={(a) => void drained(draining, a)} />
      ) : null}
      {removing ? (
        <ConfirmDialog
          title={`Remove ${removing.name}?`}
          confirmLabel="Remove node"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await removeNode(removing.id);
            toast.success(`${removing.name} left the cluster.`);
            await refresh();
          }}
        >
          {removing.name} leaves the Swarm and Marina forgets it and its certificates or key. A node with instances
          cannot be removed: delete them first.
        </ConfirmDialog>
      ) : null}
    </>
  );
}
