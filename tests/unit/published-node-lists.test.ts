import { describe, expect, it } from 'vitest';
import { PublishedNodeLists } from '../../server/realtime/published-node-lists.ts';
import { deltaOf } from '../../server/realtime/coalesce.ts';
import { testIncident as incident } from '../helpers/incidents.ts';

describe('the node lists screens hold (deltas carry only the nodes an incident gained)', () => {
  it('an incident first published sends its whole list; each next change continues the list it was last published with', () => {
    const lists = new PublishedNodeLists();
    expect(lists.next(incident('a', 1, { nodes: ['n1', 'n2'] }))).toBe(0);
    expect(lists.next(incident('a', 2, { nodes: ['n1', 'n2', 'n3'] }))).toBe(2);
    expect(lists.next(incident('a', 3, { nodes: ['n1', 'n2', 'n3'], status: 'acknowledged' }))).toBe(3);
  });

  it('after a resolution, or a list that does not continue the one published, the whole list is sent again', () => {
    const lists = new PublishedNodeLists();
    lists.next(incident('a', 1, { nodes: ['n1', 'n2'] }));
    expect(lists.next(incident('a', 2, { nodes: ['n1', 'n2'], status: 'resolved' }))).toBe(2);
    expect(lists.next(incident('a', 3, { nodes: ['n1', 'n2', 'n3'] }))).toBe(0); // reopened: screens dropped it
    expect(lists.next(incident('a', 4, { nodes: ['n1', 'x', 'n3', 'n4'] }))).toBe(0);
    expect(lists.next(incident('a', 5, { nodes: ['n1'] }))).toBe(0);
  });

  it('a delta sends the nodes gained since its screens’ state; coalesced, since the first change in its window', () => {
    const a1 = incident('a', 1, { nodes: ['n1', 'n2'] });
    const a2 = incident('a', 2, { nodes: ['n1', 'n2', 'n3'] });
    const a3 = incident('a', 3, { nodes: ['n1', 'n2', 'n3', 'n4'] });
    const b1 = incident('b', 1, { nodes: ['m1'] });
    const delta = deltaOf(7, [
      { changeId: 8, incident: a2, heldNodes: 2 },
      { changeId: 9, incident: b1, heldNodes: 0 },
      { changeId: 10, incident: a3, heldNodes: 3 },
    ]);
    expect(delta.prev).toBe(7);
    expect(delta.last).toBe(10);
    expect(delta.incidents).toEqual([b1, { ...a3, nodes: ['n3', 'n4'], nodesFrom: 2 }]);
    expect(deltaOf(10, [{ changeId: 11, incident: a1, heldNodes: 0 }]).incidents).toEqual([a1]);
  });
});
