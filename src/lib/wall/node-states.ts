/**
 * What each node on the map shows: the worst open incident that names it, or a drawing state of its
 * own (unreachable behind a failed parent, suppressed while its incidents are snoozed). Pure.
 */
import type { IncidentDto } from '../protocol/incidents.ts';
import type { Severity } from '../domain/severity.ts';

export type NodeState = 'ok' | 'info' | 'warning' | 'high' | 'critical' | 'unreachable' | 'suppressed';

/** Most alarming first; a group shows the first state any member has. */
export const STATE_ORDER: readonly NodeState[] = ['critical', 'high', 'unreachable', 'warning', 'info', 'suppressed', 'ok'];
const RANK = new Map(STATE_ORDER.map((s, i) => [s, STATE_ORDER.length - i]));

export function stateRank(state: NodeState): number {
  return RANK.get(state)!;
}
export function worseState(a: NodeState, b: NodeState): NodeState {
  return stateRank(a) >= stateRank(b) ? a : b;
}

export interface NodeStatus {
  state: NodeState;
  /** Open incidents naming the node (snoozed ones included). */
  incidents: number;
  /** Every incident behind the state is acknowledged (someone is on it). */
  acknowledged: boolean;
  /** The worst incident's summary (untrusted text), for hover details. */
  summary: string | null;
  /** Ids of the open incidents naming the node. */
  incidentIds: string[];
}

export interface StatusNode {
  id: string;
  client: string;
  name: string;
  parentId: string | null;
}

const OK: NodeStatus = { state: 'ok', incidents: 0, acknowledged: false, summary: null, incidentIds: [] };
export const nodeKey = (client: string, name: string): string => `${client}\u0000${name}`;

/**
 * Per node id: its state. Incidents name nodes by (client, node name); a snoozed incident makes its
 * nodes "suppressed" unless something else is open on them; a node whose dependency parent (or
 * grand-parent…) is critical and which has nothing worse of its own is "unreachable".
 */
export function computeNodeStatuses(nodes: readonly StatusNode[], incidents: Iterable<IncidentDto>, now: number): Map<string, NodeStatus> {
  const idByKey = new Map<string, string>();
  for (const n of nodes) idByKey.set(nodeKey(n.client, n.name), n.id);
  const worst = new Map<string, { severity: Severity; incident: IncidentDto }>();
  const counts = new Map<string, { total: number; snoozed: number; unacked: number; ids: string[] }>();
  const sevRank: Record<Severity, number> = { critical: 4, high: 3, warning: 2, info: 1 };
  for (const incident of incidents) {
    if (incident.status === 'resolved' || incident.client === null) continue;
    const snoozed = incident.snoozedUntil !== null && incident.snoozedUntil !== undefined && Date.parse(incident.snoozedUntil) > now;
    for (const name of incident.nodes ?? []) {
      const id = idByKey.get(nodeKey(incident.client, name));
      if (id === undefined) continue;
      const c = counts.get(id) ?? { total: 0, snoozed: 0, unacked: 0, ids: [] };
      c.total++;
      c.ids.push(incident.id);
      if (snoozed) c.snoozed++;
      else if (incident.status === 'triggered') c.unacked++;
      counts.set(id, c);
      if (snoozed) continue;
      const held = worst.get(id);
      if (!held || sevRank[incident.severity] > sevRank[held.severity]) worst.set(id, { severity: incident.severity, incident });
    }
  }
  const own = new Map<string, NodeStatus>();
  for (const [id, c] of counts) {
    const w = worst.get(id);
    own.set(id, {
      state: w ? w.severity : 'suppressed',
      incidents: c.total,
      acknowledged: w !== undefined && c.unacked === 0,
      summary: w?.incident.summary ?? null,
      incidentIds: c.ids,
    });
  }
  // Unreachable: behind a critical ancestor, with nothing worse than a warning of its own.
  const parentOf = new Map(nodes.map((n) => [n.id, n.parentId]));
  const criticalAbove = new Map<string, boolean>();
  const hasCriticalAncestor = (id: string, depth = 0): boolean => {
    const cached = criticalAbove.get(id);
    if (cached !== undefined) return cached;
    const parent = parentOf.get(id) ?? null;
    const result = parent !== null && depth < 64 && (own.get(parent)?.state === 'critical' || hasCriticalAncestor(parent, depth + 1));
    criticalAbove.set(id, result);
    return result;
  };
  const out = new Map<string, NodeStatus>();
  for (const n of nodes) {
    const status = own.get(n.id) ?? OK;
    const mild = status.state === 'ok' || status.state === 'info' || status.state === 'warning' || status.state === 'suppressed';
    out.set(n.id, mild && hasCriticalAncestor(n.id) ? { ...status, state: 'unreachable' } : status);
  }
  return out;
}

/** A group's summary: its worst state and how many members are in each state. */
export interface GroupStatus {
  state: NodeState;
  total: number;
  /** Members not ok. */
  alerting: number;
  byState: Partial<Record<NodeState, number>>;
}

export function summariseGroup(memberIds: Iterable<string>, statuses: Map<string, NodeStatus>): GroupStatus {
  let state: NodeState = 'ok';
  let total = 0;
  let alerting = 0;
  const byState: Partial<Record<NodeState, number>> = {};
  for (const id of memberIds) {
    const s = statuses.get(id)?.state ?? 'ok';
    total++;
    if (s !== 'ok') alerting++;
    byState[s] = (byState[s] ?? 0) + 1;
    state = worseState(state, s);
  }
  return { state, total, alerting, byState };
}
