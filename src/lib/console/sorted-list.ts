/**
 * Keeps a sorted array current under small changes without sorting it again: the queue holds
 * 10,000 incidents and receives a few changes per frame, so a removal and an insertion by binary
 * search (a memmove each) beat a full sort by two orders of magnitude. Pure.
 */

/** Index of the first element not before `item` (where `item` would be inserted). */
export function lowerBound<T>(list: readonly T[], item: T, compare: (a: T, b: T) => number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compare(list[mid], item) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** A change to one element: `before` leaves the list, `after` joins it (either may be absent). */
export interface SortedChange<T> {
  before?: T;
  after?: T;
}

/**
 * A new sorted array with each change applied. `before` elements are found by binary search and
 * identity, so they must be the very objects in the list. Falls back to a full sort when most of
 * the list changed.
 */
export function applySorted<T>(list: readonly T[], changes: readonly SortedChange<T>[], compare: (a: T, b: T) => number): T[] {
  if (changes.length > 64 && changes.length > list.length / 8) {
    const removed = new Set<T>();
    for (const change of changes) if (change.before !== undefined) removed.add(change.before);
    const kept = list.filter((item) => !removed.has(item));
    for (const change of changes) if (change.after !== undefined) kept.push(change.after);
    return kept.sort(compare);
  }
  const next = list.slice();
  for (const { before } of changes) {
    if (before === undefined) continue;
    const index = indexOfSorted(next, before, compare);
    if (index >= 0) next.splice(index, 1);
  }
  for (const { after } of changes) {
    if (after === undefined) continue;
    next.splice(lowerBound(next, after, compare), 0, after);
  }
  return next;
}

/** Where `item` (by identity) sits in a sorted list, or -1. */
export function indexOfSorted<T>(list: readonly T[], item: T, compare: (a: T, b: T) => number): number {
  const at = lowerBound(list, item, compare);
  // Equal-comparing neighbours may sit either side of the bound; look through them.
  for (let i = at; i < list.length && compare(list[i], item) === 0; i++) if (list[i] === item) return i;
  for (let i = at - 1; i >= 0 && compare(list[i], item) === 0; i--) if (list[i] === item) return i;
  return list.indexOf(item);
}
