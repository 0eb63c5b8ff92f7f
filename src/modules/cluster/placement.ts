/**
 * Chooses the Swarm node a new Odoo instance goes on, or refuses with every node's reason.
 * Pure: the caller reads nodes and placed instances; this only decides.
 */

export type Stage = 'production' | 'staging' | 'development';

export interface PlacementNode {
  hostId: string;
  name: string;
  /** Swarm's view: only 'ready' nodes whose availability is 'active' take new instances. */
  nodeState: 'ready' | 'down' | 'unknown' | 'disconnected';
  availability: 'active' | 'pause' | 'drain';
  /** The engine's CPUs. */
  cpus: number;
  /** The engine's memory. */
  memoryBytes: number;
  /** Plan slugs this node is dedicated to (empty: a shared node). */
  dedicatedTo: string[];
}

export interface PlacedInstance {
  hostId: string;
  organizationId: string;
  stage: Stage;
  memoryBytes: number;
  nanoCpus: number;
}

export interface PlacementRequest {
  organizationId: string;
  stage: Stage;
  memoryBytes: number;
  nanoCpus: number;
  planSlug: string | null;
}

export interface PlacementOptions {
  /** Kept back on every node for the engine, the OS and Swarm's own tasks. */
  reserveMemoryBytes?: number;
  reserveCpus?: number;
}

export interface RejectedNode {
  hostId: string;
  name: string;
  reason: string;
}

export type PlacementResult =
  | { ok: true; hostId: string; name: string; reason: string }
  | { ok: false; message: string; rejected: RejectedNode[] };

const GIB = 1024 ** 3;
const NANO_PER_CPU = 1e9;
export const DEFAULT_RESERVE_MEMORY_BYTES = 512 * 1024 ** 2;
export const DEFAULT_RESERVE_CPUS = 0.25;

// "2 GB" rather than "2.0 GB", "5.5 GB" kept: one decimal at most, as the rest of the UI reads.
export const formatGb = (bytes: number): string => `${Number((Math.max(0, bytes) / GIB).toFixed(1))} GB`;
export const formatCpus = (cpus: number): string => {
  const shown = Number(Math.max(0, cpus).toFixed(2));
  return `${shown} ${shown === 1 ? 'CPU' : 'CPUs'}`;
};
const quotedList = (slugs: string[]) => slugs.map((slug) => `'${slug}'`).join(', ');

interface Candidate {
  node: PlacementNode;
  freeMemoryAfter: number;
  freeShareAfter: number;
  sameOrganizationProduction: number;
}

function assertPositiveInteger(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`Placement request ${field} must be a positive integer, got ${String(value)}.`);
}

function assertReserve(value: number, field: string): void {
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`Placement option ${field} must be a non-negative number, got ${String(value)}.`);
}

function stateProblem(node: PlacementNode): string | null {
  if (node.nodeState === 'unknown') return `${node.name}'s state is unknown`;
  if (node.nodeState !== 'ready') return `${node.name} is ${node.nodeState}`;
  if (node.availability === 'drain') return `${node.name} is drained`;
  if (node.availability === 'pause') return `${node.name} is paused`;
  return null;
}

function planProblem(node: PlacementNode, planSlug: string | null, planHasDedicatedNodes: boolean): string | null {
  if (node.dedicatedTo.length > 0 && (planSlug === null || !node.dedicatedTo.includes(planSlug))) {
    const noun = node.dedicatedTo.length === 1 ? 'plan' : 'plans';
    return `${node.name} is dedicated to ${noun} ${quotedList(node.dedicatedTo)}`;
  }
  // A plan sold with its own nodes must not land next to shared tenants, even when its nodes are full.
  if (planHasDedicatedNodes && node.dedicatedTo.length === 0)
    return `${node.name} is shared and plan '${planSlug}' goes only to its dedicated nodes`;
  return null;
}

/**
 * Picks the node for `request`. Neither memory nor CPUs are overcommitted: a node fits only when the
 * request fits within capacity minus the reserve minus the limits of what already runs there. CPUs could
 * safely be overcommitted (they throttle, memory kills), but one rule for both is simpler to explain.
 */
export function choosePlacement(
  nodes: PlacementNode[],
  instances: PlacedInstance[],
  request: PlacementRequest,
  options: PlacementOptions = {},
): PlacementResult {
  assertPositiveInteger(request.memoryBytes, 'memoryBytes');
  assertPositiveInteger(request.nanoCpus, 'nanoCpus');
  const reserveMemoryBytes = options.reserveMemoryBytes ?? DEFAULT_RESERVE_MEMORY_BYTES;
  const reserveCpus = options.reserveCpus ?? DEFAULT_RESERVE_CPUS;
  assertReserve(reserveMemoryBytes, 'reserveMemoryBytes');
  assertReserve(reserveCpus, 'reserveCpus');

  const { planSlug } = request;
  // Any listed node counts, down or not: a dedicated node being down is no licence to spill onto shared ones.
  const planHasDedicatedNodes = planSlug !== null && nodes.some((node) => node.dedicatedTo.includes(planSlug));

  const candidates: Candidate[] = [];
  const rejected: RejectedNode[] = [];
  for (const node of nodes) {
    const reject = (reason: string) => rejected.push({ hostId: node.hostId, name: node.name, reason });
    const unusable = stateProblem(node) ?? planProblem(node, planSlug, planHasDedicatedNodes);
    if (unusable !== null) {
      reject(unusable);
      continue;
    }

    const onNode = instances.filter((instance) => instance.hostId === node.hostId);
    const guaranteedMemory = onNode.reduce((sum, instance) => sum + instance.memoryBytes, 0);
    const guaranteedNanoCpus = onNode.reduce((sum, instance) => sum + instance.nanoCpus, 0);
    const freeMemory = node.memoryBytes - reserveMemoryBytes - guaranteedMemory;
    // Counted in nano-CPUs, integers, so 0.1 + 0.2 style rounding cannot refuse an exact fit.
    const freeNanoCpus = Math.round((node.cpus - reserveCpus) * NANO_PER_CPU) - guaranteedNanoCpus;

    const memoryShort = request.memoryBytes > freeMemory;
    const cpusShort = request.nanoCpus > freeNanoCpus;
    if (memoryShort || cpusShort) {
      const shortOf = [
        memoryShort ? formatGb(freeMemory) : null,
        cpusShort ? formatCpus(freeNanoCpus / NANO_PER_CPU) : null,
      ].filter((part) => part !== null);
      reject(`${node.name} has ${shortOf.join(' and ')} free`);
      continue;
    }

    const freeMemoryAfter = freeMemory - request.memoryBytes;
    candidates.push({
      node,
      freeMemoryAfter,
      freeShareAfter: node.memoryBytes > 0 ? freeMemoryAfter / node.memoryBytes : 0,
      sameOrganizationProduction: onNode.filter(
        (instance) => instance.stage === 'production' && instance.organizationId === request.organizationId,
      ).length,
    });
  }

  const spreadProduction = request.stage === 'production';
  candidates.sort(
    (a, b) =>
      (spreadProduction ? a.sameOrganizationProduction - b.sameOrganizationProduction : 0) ||
      b.freeShareAfter - a.freeShareAfter ||
      compareText(a.node.name, b.node.name) ||
      compareText(a.node.hostId, b.node.hostId),
  );

  const chosen = candidates[0];
  if (chosen === undefined) {
    rejected.sort((a, b) => compareText(a.name, b.name) || compareText(a.hostId, b.hostId));
    const why = rejected.length > 0 ? rejected.map((node) => node.reason).join('; ') : 'the cluster has no nodes';
    const size = `${formatGb(request.memoryBytes)} and ${formatCpus(request.nanoCpus / NANO_PER_CPU)}`;
    return { ok: false, message: `No node can take an instance of ${size}: ${why}.`, rejected };
  }
  return {
    ok: true,
    hostId: chosen.node.hostId,
    name: chosen.node.name,
    reason: describeChoice(chosen, spreadProduction),
  };
}

// Not localeCompare: the same names must give the same node whatever the server's locale.
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describeChoice(chosen: Candidate, spreadProduction: boolean): string {
  const share = Math.round(chosen.freeShareAfter * 100);
  const memory = `${formatGb(chosen.freeMemoryAfter)} (${share} %) free after this instance`;
  if (!spreadProduction) return `${chosen.node.name}: ${memory} (most free memory)`;
  const count = chosen.sameOrganizationProduction;
  return (
    `${chosen.node.name}: ${memory} (most free memory among the nodes with the fewest); ` +
    `${count} of this organization's production instances there`
  );
}
