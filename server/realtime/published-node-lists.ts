import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';

/** The most open incidents remembered; past it everything is forgotten, and each next change sends its whole list. */
const REMEMBERED_MAX = 100_000;

/**
 * The node list each open incident was last published with, so a delta can carry only the nodes it gained
 * ({@link IncidentUpdate}). Every screen following the feed holds each open incident as its last published change
 * left it: its snapshot was taken from the same published changes, or from the database at a newer change, in
 * which case it holds a newer version and skips the older one.
 *
 * Fed every published change in change-id order (the feed's publish): the previous published change of an
 * incident is then its previous change. An incident first seen, resolved before, or whose list is not a
 * continuation of the one remembered (rewritten by hand in SQL, say) sends its whole list.
 */
export class PublishedNodeLists {
  readonly #held = new Map<string, readonly string[]>();

  /** How many of `incident.nodes` every screen holds already (0: send the whole list); remembers its list. */
  next(incident: IncidentDto): number {
    const held = this.#held.get(incident.id);
    const nodes = incident.nodes;
    const continues = held !== undefined && held.length <= nodes.length && held.every((node, i) => nodes[i] === node);
    if (incident.status === 'resolved') this.#held.delete(incident.id);
    else {
      if (held === undefined && this.#held.size >= REMEMBERED_MAX) this.#held.clear();
      this.#held.set(incident.id, nodes);
    }
    return continues ? held.length : 0;
  }
}
