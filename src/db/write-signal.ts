/**
 * Tells this process's listeners about every write that could change a row they keep a copy of:
 * an UPDATE (with its table and the columns it sets), any DELETE (a cascade may reach any table),
 * and any raw statement that updates, deletes or truncates (its tables are not parsed). Every Db made
 * by `connect` carries the plugin, transactions included; it sees the statement when it is sent and
 * again when it has run, but not the commit: a listener allows for that (credential-cache.ts).
 */
import type {
  KyselyPlugin,
  OperationNode,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';

export interface TableWrite {
  /** The table an UPDATE names; null for a DELETE or a raw statement (any table). */
  table: string | null;
  /** The columns an UPDATE sets; null for a DELETE or a raw statement. */
  columns: string[] | null;
}

type Listener = (write: TableWrite) => void;
const listeners = new Set<Listener>();

/** Listens to every Db of the process; returns the function that stops listening. */
export function onTableWrite(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const RAW_WRITE = /\b(update|delete|truncate)\b/i;

interface NodeFields {
  kind: string;
  table?: OperationNode;
  updates?: readonly { column: OperationNode }[];
  with?: { expressions: readonly { expression: OperationNode }[] };
  sqlFragments?: readonly string[];
  column?: { name?: string };
}

const nameOf = (node: OperationNode | undefined): string | null => {
  const n = node as { kind?: string; table?: { identifier?: { name?: string } }; node?: OperationNode } | undefined;
  if (n?.kind === 'TableNode') return n.table?.identifier?.name ?? null;
  if (n?.kind === 'AliasNode') return nameOf(n.node);
  return null;
};

function writesOf(node: OperationNode, found: TableWrite[]): TableWrite[] {
  const n = node as unknown as NodeFields;
  for (const cte of n.with?.expressions ?? []) writesOf(cte.expression, found);
  if (n.kind === 'UpdateQueryNode') {
    const columns = (n.updates ?? []).map((u) => (u.column as NodeFields).column?.name ?? '');
    found.push({ table: nameOf(n.table), columns });
  } else if (n.kind === 'DeleteQueryNode') {
    found.push({ table: null, columns: null });
  } else if (n.kind === 'RawNode' && n.sqlFragments?.some((part) => RAW_WRITE.test(part))) {
    found.push({ table: null, columns: null });
  }
  return found;
}

const announce = (node: OperationNode): void => {
  if (listeners.size === 0) return;
  for (const write of writesOf(node, [])) for (const listener of listeners) listener(write);
};

export class WriteSignalPlugin implements KyselyPlugin {
  // Which statement a result belongs to: announced again once it has run, as rows read meanwhile are old.
  private readonly sent = new WeakMap<object, OperationNode>();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    announce(args.node);
    this.sent.set(args.queryId, args.node);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const node = this.sent.get(args.queryId);
    if (node) announce(node);
    return args.result;
  }
}
