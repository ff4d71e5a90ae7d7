import { formatCount } from '$lib/domain/format.ts';
import type { Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '$lib/protocol/events.ts';
import type { BulkAction, BulkResult } from '$lib/protocol/console.ts';
import type { IncidentDto } from '$lib/protocol/incidents.ts';
import type { Severity } from '$lib/domain/severity.ts';
import { serialiseFilter, type IncidentFilter } from '$lib/domain/incident-filter.ts';
import { describeCommandError, runBulk, runCommand } from './incident-commands.ts';

type ConsoleSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Everything a person can do to incidents from the console. */
export type ActionKind =
  | 'acknowledge'
  | 'unacknowledge'
  | 'takeOver'
  | 'assign'
  | 'snooze'
  | 'resolve'
  | 'note'
  | 'severity'
  | 'merge';

/** Actions that need input first (a dialog); the others run at once on named incidents. */
export const NEEDS_INPUT: ReadonlySet<ActionKind> = new Set(['assign', 'snooze', 'resolve', 'note', 'severity', 'merge']);

export const ACTION_LABEL: Record<ActionKind, string> = {
  acknowledge: 'Acknowledge',
  unacknowledge: 'Unacknowledge',
  takeOver: 'Take over',
  assign: 'Assign',
  snooze: 'Snooze',
  resolve: 'Resolve',
  note: 'Add note',
  severity: 'Change severity',
  merge: 'Merge',
};

/** Past tense for the outcome message. */
const DONE: Record<ActionKind, string> = {
  acknowledge: 'Acknowledged',
  unacknowledge: 'Unacknowledged',
  takeOver: 'Took over',
  assign: 'Assigned',
  snooze: 'Snoozed',
  resolve: 'Resolved',
  note: 'Added a note to',
  severity: 'Changed the severity of',
  merge: 'Merged',
};

const BULK: Partial<Record<ActionKind, BulkAction>> = {
  acknowledge: 'acknowledge',
  unacknowledge: 'unacknowledge',
  takeOver: 'take-over',
  assign: 'assign',
  snooze: 'snooze',
  resolve: 'resolve',
  note: 'notes',
  severity: 'severity',
};

/** What an action acts on: named incidents (one is sent with its version), or everything matching a filter. */
export type ActionTarget =
  | { kind: 'incidents'; incidents: IncidentDto[] }
  | { kind: 'filter'; filter: IncidentFilter; count: number };

/** What the dialogs collect. */
export interface ActionInput {
  assigneeId?: string | null;
  teamId?: string | null;
  /** Reassigning someone else's incident needs one. */
  reason?: string;
  until?: string;
  note?: string;
  severity?: Severity;
  /** Merge: the incident the others merge into. */
  mergeTargetId?: string;
}

export interface ActionOutcome {
  tone: 'success' | 'warning' | 'error';
  message: string;
  /** Bulk refusals, each with its incident's number when known. */
  failures: { id: string; number: number | null; message: string }[];
}

/** How many incidents a target covers. */
export function targetCount(target: ActionTarget): number {
  return target.kind === 'filter' ? target.count : target.incidents.length;
}

/** "#123", "3 incidents", "all 340 matching incidents". */
export function describeTarget(target: ActionTarget): string {
  if (target.kind === 'filter') return `all ${formatCount(target.count)} matching incident${target.count === 1 ? '' : 's'}`;
  if (target.incidents.length === 1) return `#${target.incidents[0].number}`;
  return `${target.incidents.length} incidents`;
}

/**
 * The console's action runner: which dialog is open for which incidents, whether a command is on
 * its way, and what the last one did (success, or which incidents failed and why). Shared by the
 * queue and the incident page.
 */
export class IncidentActions {
  #dialog = $state.raw<{ action: ActionKind; target: ActionTarget } | null>(null);
  /** Commands on their way: keyboard triage (j a j a…) sends the next before the last is answered. */
  #inFlight = $state(0);
  #submitting = $state(false);
  #outcome = $state.raw<ActionOutcome | null>(null);
  /**
   * Versions the server answered with: a second key press right after the first (a, then r) must
   * not be refused as stale only because the first change's delta has not arrived yet.
   */
  #answeredVersions = new Map<string, number>();
  readonly #socket: () => ConsoleSocket | null;
  readonly #numberOf: (id: string) => number | null;

  /**
   * @param socket the live socket (commands go over REST while it is down)
   * @param numberOf the incident number for an id, to name bulk failures
   */
  constructor(socket: () => ConsoleSocket | null, numberOf: (id: string) => number | null = () => null) {
    this.#socket = socket;
    this.#numberOf = numberOf;
  }

  get dialog(): { action: ActionKind; target: ActionTarget } | null {
    return this.#dialog;
  }
  /** Some command is on its way. */
  get busy(): boolean {
    return this.#inFlight > 0;
  }
  /** The open dialog's command is on its way (its submit button waits). */
  get submitting(): boolean {
    return this.#submitting;
  }
  get outcome(): ActionOutcome | null {
    return this.#outcome;
  }
  dismissOutcome(): void {
    this.#outcome = null;
  }

  /**
   * Starts an action: asks for input (or, on a whole filter, for confirmation) in a dialog, or runs
   * it at once.
   */
  start(action: ActionKind, target: ActionTarget): void {
    if (targetCount(target) === 0) return;
    if (action === 'merge' && (target.kind !== 'incidents' || target.incidents.length < 2)) {
      this.#outcome = { tone: 'warning', message: 'Select two or more incidents (x) to merge them into one.', failures: [] };
      return;
    }
    this.#outcome = null;
    if (NEEDS_INPUT.has(action) || target.kind === 'filter') this.#dialog = { action, target };
    else void this.run(action, target, {});
  }

  closeDialog(): void {
    this.#dialog = null;
  }

  /** Runs the action; the outcome says what happened. Resolves true when everything succeeded. */
  async run(action: ActionKind, target: ActionTarget, input: ActionInput): Promise<boolean> {
    const dialog = this.#dialog;
    if (dialog && this.#submitting) return false;
    this.#inFlight++;
    if (dialog) this.#submitting = true;
    try {
      const done =
        target.kind === 'incidents' && (target.incidents.length === 1 || action === 'merge')
          ? await this.#runOne(action, target.incidents, input)
          : await this.#runBulk(action, target, input);
      // A bulk action closes its dialog even when some failed: the outcome lists them.
      const finished = done || (target.kind === 'filter' || target.incidents.length > 1) && this.#outcome?.failures.length;
      if (dialog && this.#dialog === dialog && finished) this.#dialog = null;
      return done;
    } finally {
      this.#inFlight--;
      if (dialog) this.#submitting = false;
    }
  }

  async #runOne(action: ActionKind, incidents: IncidentDto[], input: ActionInput): Promise<boolean> {
    const socket = this.#socket();
    const incident = action === 'merge' ? (incidents.find((i) => i.id === input.mergeTargetId) ?? incidents[0]) : incidents[0];
    const version = Math.max(incident.version, this.#answeredVersions.get(incident.id) ?? 0);
    const remember = (after: IncidentDto) => {
      this.#answeredVersions.set(after.id, after.version);
      if (this.#answeredVersions.size > 1000) this.#answeredVersions.delete(this.#answeredVersions.keys().next().value!);
    };
    try {
      let after: IncidentDto;
      switch (action) {
        case 'acknowledge':
          after = await runCommand(socket, 'acknowledge', incident.id, { version });
          break;
        case 'unacknowledge':
          after = await runCommand(socket, 'unacknowledge', incident.id, { version });
          break;
        case 'takeOver':
          after = await runCommand(socket, 'take-over', incident.id, { version, ...(input.reason ? { reason: input.reason } : {}) });
          break;
        case 'assign': {
          const holders = {
            ...(input.assigneeId !== undefined ? { assigneeId: input.assigneeId } : {}),
            ...(input.teamId !== undefined ? { teamId: input.teamId } : {}),
          };
          after = input.reason?.trim()
            ? await runCommand(socket, 'reassign', incident.id, { ...holders, reason: input.reason.trim(), version })
            : await runCommand(socket, 'assign', incident.id, { ...holders, version });
          break;
        }
        case 'snooze':
          after = await runCommand(socket, 'snooze', incident.id, { until: input.until ?? '', version });
          break;
        case 'resolve':
          after = await runCommand(socket, 'resolve', incident.id, { version, ...(input.note?.trim() ? { note: input.note } : {}) });
          break;
        case 'note':
          after = await runCommand(socket, 'note', incident.id, { text: input.note ?? '' });
          break;
        case 'severity':
          after = await runCommand(socket, 'severity', incident.id, { severity: input.severity ?? incident.severity, version });
          break;
        case 'merge': {
          const sourceIds = incidents.filter((i) => i.id !== incident.id).map((i) => i.id);
          after = await runCommand(socket, 'merge', incident.id, { sourceIds, version });
          break;
        }
      }
      remember(after);
      const what = action === 'merge' ? `${incidents.length - 1} incident${incidents.length === 2 ? '' : 's'} into #${incident.number}` : `#${incident.number}`;
      const message =
        action === 'assign'
          ? `${input.reason?.trim() ? 'Reassigned' : 'Assigned'} ${what} to ${after.assigneeName ?? (after.teamName ? `team ${after.teamName}` : 'nobody')}.`
          : `${DONE[action]} ${what}.`;
      this.#outcome = { tone: 'success', message, failures: [] };
      return true;
    } catch (error) {
      this.#outcome = { tone: 'error', message: describeCommandError(error, incident), failures: [] };
      return false;
    }
  }

  async #runBulk(action: ActionKind, target: ActionTarget, input: ActionInput): Promise<boolean> {
    const bulk = BULK[action];
    if (!bulk) return false;
    const on = target.kind === 'filter' ? { filter: serialiseFilter(target.filter) } : { ids: target.incidents.map((i) => i.id) };
    const socket = this.#socket();
    let result: BulkResult;
    try {
      switch (bulk) {
        case 'acknowledge':
        case 'unacknowledge':
          result = await runBulk(socket, bulk, on);
          break;
        case 'take-over':
          result = await runBulk(socket, bulk, { ...on, ...(input.reason?.trim() ? { reason: input.reason.trim() } : {}) });
          break;
        case 'assign':
          result = await runBulk(socket, bulk, {
            ...on,
            ...(input.assigneeId !== undefined ? { assigneeId: input.assigneeId } : {}),
            ...(input.teamId !== undefined ? { teamId: input.teamId } : {}),
            ...(input.reason?.trim() ? { reason: input.reason.trim() } : {}),
          });
          break;
        case 'snooze':
          result = await runBulk(socket, bulk, { ...on, until: input.until ?? '' });
          break;
        case 'resolve':
          result = await runBulk(socket, bulk, { ...on, ...(input.note?.trim() ? { note: input.note } : {}) });
          break;
        case 'notes':
          result = await runBulk(socket, bulk, { ...on, text: input.note ?? '' });
          break;
        case 'severity':
          result = await runBulk(socket, bulk, { ...on, severity: input.severity ?? 'warning' });
          break;
      }
    } catch (error) {
      this.#outcome = { tone: 'error', message: describeCommandError(error), failures: [] };
      return false;
    }
    const done = result.succeeded.length;
    const total = done + result.failed.length;
    const failures = result.failed.map((f) => ({ id: f.id, number: this.#numberOf(f.id), message: f.message }));
    this.#outcome = {
      tone: result.failed.length === 0 ? 'success' : done === 0 ? 'error' : 'warning',
      message:
        total === 0
          ? 'Nothing matched: no incident was changed.'
          : `${DONE[action]} ${formatCount(done)} of ${formatCount(total)} incident${total === 1 ? '' : 's'}.` +
            (failures.length ? ` ${formatCount(failures.length)} failed:` : ''),
      failures,
    };
    return result.failed.length === 0;
  }
}
