import { emptyFilter, matchesFilter, queueStateOf, serialiseFilter, type FilterViewer, type IncidentFilter } from '$lib/domain/incident-filter.ts';
import { queueCounts, type QueueCounts } from '$lib/domain/queue-head.ts';
import type { IncidentDto, IncidentHead } from '$lib/protocol/incidents.ts';
import type { IncidentsApplied } from '$lib/state/incidents.svelte.ts';
import type { FeedRefusal } from '$lib/protocol/events.ts';

/** How long a changed row stays highlighted. */
export const FLASH_MS = 2000;

/** What the queue shows: the open incidents and where they come from. */
export interface QueueSource {
  readonly incidents: IncidentDto[];
  readonly ready: boolean;
  /** The top of the queue the server sent ahead of the snapshot, until the snapshot is in. */
  readonly head: IncidentHead | null;
  /** Why the incidents could not be loaded, if they could not. */
  readonly refusal: FeedRefusal | null;
  /** Why the incidents shown stopped updating, if the server refused them since. */
  readonly notUpdating: FeedRefusal | null;
  onApplied(listener: (applied: IncidentsApplied) => void): () => void;
}

/**
 * The console queue's view state: the filter, the incidents it shows in priority order, facet
 * counts, the cursor (the focused row, by id, so live changes never move it to another incident),
 * the selection, and the brief highlight of changed rows. Read by the queue page and its table.
 */
export class QueueView {
  #filter = $state.raw<IncidentFilter>(emptyFilter());
  #viewer = $state.raw<FilterViewer>({ id: '', teamIds: [] });
  #now = $state(Date.now());
  #cursorId = $state<string | null>(null);
  #selection = $state.raw<ReadonlySet<string>>(new Set());
  /** id → flash generation: alternating 0/1 restarts the highlight when a row changes again. */
  #flashes = $state.raw<ReadonlyMap<string, number>>(new Map());
  #flashTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #clock: ReturnType<typeof setInterval>;
  #offApplied: () => void;
  readonly #source: QueueSource;

  constructor(source: QueueSource, options: { onNewCritical?: (incidents: IncidentDto[]) => void } = {}) {
    this.#source = source;
    this.#offApplied = source.onApplied((applied) => {
      if (applied.snapshot) {
        this.#pruneSelection();
        return;
      }
      const changed = [...applied.added, ...applied.updated.map((u) => u.after)];
      this.#flash(changed.map((i) => i.id));
      if (applied.removed.length) this.#pruneSelection();
      const critical = [
        ...applied.added.filter((i) => i.severity === 'critical'),
        ...applied.updated.filter((u) => u.after.severity === 'critical' && u.before.severity !== 'critical').map((u) => u.after),
      ].filter((i) => queueStateOf(i, Date.now()) !== 'snoozed');
      if (critical.length) options.onNewCritical?.(critical);
    });
    // Ages, and snoozes that end, move on with the clock.
    this.#clock = setInterval(() => (this.#now = Date.now()), 5000);
  }

  get filter(): IncidentFilter {
    return this.#filter;
  }
  set filter(filter: IncidentFilter) {
    this.#filter = filter;
  }
  /** Who is looking: `assignee=me` and `team=mine` resolve against it. */
  set viewer(viewer: FilterViewer) {
    this.#viewer = viewer;
  }
  get viewer(): FilterViewer {
    return this.#viewer;
  }
  /** The clock ages are shown against (epoch ms, every 5 s). */
  get now(): number {
    return this.#now;
  }
  get ready(): boolean {
    return this.#source.ready;
  }
  get refusal(): FeedRefusal | null {
    return this.#source.refusal;
  }
  get notUpdating(): FeedRefusal | null {
    return this.#source.notUpdating;
  }
  /** Every open incident in scope (snoozed included), in priority order. */
  get all(): IncidentDto[] {
    return this.#source.incidents;
  }

  /** The server's head while the snapshot is on its way, if it was computed for this filter. */
  readonly #head = $derived.by(() => {
    const head = this.#source.head;
    return head !== null && head.filter === serialiseFilter(this.#filter) ? head : null;
  });
  /** True once the rows and counts shown are the real ones: the snapshot's, or the head's ahead of it. */
  get counted(): boolean {
    return this.#source.ready || this.#head !== null;
  }
  /** How many incidents the filter lets through (more than {@link shown} holds while only the head is in). */
  get shownCount(): number {
    return this.#head?.matching ?? this.#shown.length;
  }
  /** How many incidents are open in scope. */
  get openCount(): number {
    return this.#head?.open ?? this.#source.incidents.length;
  }

  readonly #shown = $derived.by(() => {
    if (this.#head) return this.#head.first;
    const filter = this.#filter;
    const viewer = this.#viewer;
    const now = this.#now;
    return this.#source.incidents.filter((i) => matchesFilter(i, filter, viewer, now));
  });
  /** The incidents the filter lets through, in priority order (the first of them while only the head is in). */
  get shown(): IncidentDto[] {
    return this.#shown;
  }

  readonly #indexById = $derived.by(() => {
    const index = new Map<string, number>();
    this.#shown.forEach((incident, i) => index.set(incident.id, i));
    return index;
  });
  /** Row index of an incident in {@link shown}, or -1. */
  indexOf(id: string): number {
    return this.#indexById.get(id) ?? -1;
  }

  readonly #counts = $derived.by(() => this.#head?.counts ?? queueCounts(this.#source.incidents, this.#filter, this.#viewer, this.#now));
  /** Facet counts for the filter chips: what each chip would show. */
  get counts(): QueueCounts {
    return this.#counts;
  }

  // ── cursor ────────────────────────────────────────────────────────────────────────────────────

  readonly #cursorIndex = $derived.by(() => {
    if (this.#shown.length === 0 || this.#cursorId === null) return -1;
    return this.indexOf(this.#cursorId);
  });
  /** Row index of the focused incident, or -1 when none is focused (or it left the view). */
  get cursorIndex(): number {
    return this.#cursorIndex;
  }
  get cursorId(): string | null {
    return this.#cursorIndex < 0 ? null : this.#cursorId;
  }
  get cursorIncident(): IncidentDto | null {
    return this.#cursorIndex < 0 ? null : this.#shown[this.#cursorIndex];
  }

  setCursor(id: string | null): void {
    this.#cursorId = id;
  }

  /**
   * Moves the cursor by `step` rows. With no cursor yet, starts at the top. When the focused
   * incident left the view (resolved by someone else), `fallbackIndex` is where it was.
   */
  moveCursor(step: number, fallbackIndex = 0): void {
    const shown = this.#shown;
    if (shown.length === 0) return;
    const from = this.#cursorIndex >= 0 ? this.#cursorIndex : Math.min(fallbackIndex, shown.length - 1) - (step > 0 ? 1 : 0);
    const to = Math.max(0, Math.min(shown.length - 1, from + step));
    this.#cursorId = shown[to].id;
  }
  cursorToEdge(edge: 'first' | 'last'): void {
    const shown = this.#shown;
    if (shown.length) this.#cursorId = shown[edge === 'first' ? 0 : shown.length - 1].id;
  }

  // ── selection ─────────────────────────────────────────────────────────────────────────────────

  get selection(): ReadonlySet<string> {
    return this.#selection;
  }
  isSelected(id: string): boolean {
    return this.#selection.has(id);
  }
  toggleSelected(id: string): void {
    const next = new Set(this.#selection);
    if (!next.delete(id)) next.add(id);
    this.#selection = next;
  }
  /** Selects every shown incident, or clears the selection when they all are selected already. */
  toggleSelectAllShown(): void {
    const shown = this.#shown;
    if (shown.length > 0 && shown.every((i) => this.#selection.has(i.id))) this.#selection = new Set();
    else this.#selection = new Set(shown.map((i) => i.id));
  }
  clearSelection(): void {
    if (this.#selection.size) this.#selection = new Set();
  }
  /** Selected incidents that are still open, in priority order. */
  get selectedIncidents(): IncidentDto[] {
    if (this.#selection.size === 0) return [];
    return this.#source.incidents.filter((i) => this.#selection.has(i.id));
  }

  /** Resolved or merged incidents cannot be acted on: they leave the selection. */
  #pruneSelection(): void {
    if (this.#selection.size === 0) return;
    const open = new Set(this.#source.incidents.map((i) => i.id));
    const kept = [...this.#selection].filter((id) => open.has(id));
    if (kept.length !== this.#selection.size) this.#selection = new Set(kept);
  }

  // ── highlight ─────────────────────────────────────────────────────────────────────────────────

  /** 0 or 1 while the row is highlighted (alternating, so a second change restarts it), else undefined. */
  flashOf(id: string): number | undefined {
    return this.#flashes.get(id);
  }

  #flash(ids: string[]): void {
    if (ids.length === 0) return;
    const next = new Map(this.#flashes);
    for (const id of ids) {
      next.set(id, ((next.get(id) ?? 1) + 1) % 2);
      clearTimeout(this.#flashTimers.get(id));
      this.#flashTimers.set(
        id,
        setTimeout(() => {
          this.#flashTimers.delete(id);
          const after = new Map(this.#flashes);
          after.delete(id);
          this.#flashes = after;
        }, FLASH_MS),
      );
    }
    this.#flashes = next;
  }

  close(): void {
    clearInterval(this.#clock);
    for (const timer of this.#flashTimers.values()) clearTimeout(timer);
    this.#flashTimers.clear();
    this.#offApplied();
  }
}
