import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';

/** The most open incidents remembered; past it everything is forgotten, and each next change is sent whole. */
const REMEMBERED_MAX = 100_000;

/**
 * Each open incident as it was last published, so a delta can carry only what changed ({@link IncidentUpdate}).
 * Every screen following the feed holds each open incident as a published change left it: its snapshot was taken
 * from the same published changes, or from the database at a newer change (a later state in the same chain, which
 * a patch naming every field changed since applies to as well).
 *
 * Fed every published change in change-id order (the feed's publish): the previous published change of an
 * incident is then its previous change. An incident first seen, or resolved before (screens dropped it), has none.
 * The objects are the published changes' own (shared with the open incidents' copy), not copies.
 */
export class PublishedIncidents {
  readonly #held = new Map<string, IncidentDto>();

  /** `incident` as its previous published change left it (undefined: none known); remembers this one. */
  next(incident: IncidentDto): IncidentDto | undefined {
    const before = this.#held.get(incident.id);
    if (incident.status === 'resolved') this.#held.delete(incident.id);
    else {
      if (before === undefined && this.#held.size >= REMEMBERED_MAX) this.#held.clear();
      this.#held.set(incident.id, incident);
    }
    return before;
  }
}
