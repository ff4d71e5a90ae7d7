import { deleteDB, openDB, type DBSchema } from 'idb';
import type { FeedResume } from '$lib/protocol/incidents.ts';
import type { IncidentsCopy } from '$lib/realtime/incidents-copy.ts';

/** IndexedDB database holding the phone's last known incidents, for an offline start and a resumed one. */
export const OFFLINE_DB = 'watchfloor-offline';
/** Set by the service worker on API answers it gives from its cache (offline): when they were stored. */
export const FROM_CACHE_HEADER = 'x-watchfloor-cached-at';

/**
 * 1: snapshots. 2: snapshots carry their `feedId`, and `resumePoints` hold where each stands. A change to what a
 * stored incident holds (IncidentDto) that old copies lack must bump this too, and convert or drop them in the
 * upgrade: a resumed copy keeps every incident that did not change while the phone was closed as it was stored.
 */
const DB_VERSION = 2;

/**
 * The last incidents the phone saw while live, and when they were last known to be current: complete as of
 * `lastChangeId` (an {@link IncidentsCopy}), so a later start resumes from them when `feedId` is set.
 */
export interface StoredSnapshot extends IncidentsCopy {
  /** Whose they are: another user signing in on this device never sees them, nor resumes from them. */
  userId: string;
  /** ISO time the server last confirmed them (the latest message while live). */
  currentAt: string;
}

/** Where a stored copy stands, kept apart from it: the first handshake reads these few bytes, not megabytes. */
interface StoredResumePoint extends FeedResume {
  userId: string;
}

interface OfflineSchema extends DBSchema {
  /** Copies stored by version 1 have no `feedId`: they are shown offline, never resumed. */
  snapshots: { key: string; value: Omit<StoredSnapshot, 'feedId'> & { feedId?: string | null } };
  /** Only for copies that can be resumed; written and deleted with them, in one transaction. */
  resumePoints: { key: string; value: StoredResumePoint };
}

function open() {
  return openDB<OfflineSchema>(OFFLINE_DB, DB_VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) db.createObjectStore('snapshots', { keyPath: 'userId' });
      // The copies of version 1 stay (an offline start still shows them); without a point they are not resumed.
      if (oldVersion < 2) db.createObjectStore('resumePoints', { keyPath: 'userId' });
    },
  });
}

/** Keeps `snapshot` as this user's last known state (one per user, replaced each time), and where it stands. */
export async function saveSnapshot(snapshot: StoredSnapshot): Promise<void> {
  const db = await open();
  try {
    const tx = db.transaction(['snapshots', 'resumePoints'], 'readwrite');
    // Svelte state proxies cannot be cloned into IndexedDB: store plain data.
    const plain = JSON.parse(JSON.stringify(snapshot)) as StoredSnapshot;
    const points = tx.objectStore('resumePoints');
    await Promise.all([
      tx.objectStore('snapshots').put(plain),
      plain.feedId === null ? points.delete(plain.userId) : points.put({ userId: plain.userId, after: plain.lastChangeId, feedId: plain.feedId }),
      tx.done,
    ]);
  } finally {
    db.close();
  }
}

/** This user's last known state, or null. */
export async function loadSnapshot(userId: string): Promise<StoredSnapshot | null> {
  const db = await open();
  try {
    const stored = await db.get('snapshots', userId);
    return stored ? { ...stored, feedId: stored.feedId ?? null } : null;
  } finally {
    db.close();
  }
}

/** Where this user's stored copy stands, when it can be resumed; else null. */
export async function loadResumePoint(userId: string): Promise<FeedResume | null> {
  const db = await open();
  try {
    const point = await db.get('resumePoints', userId);
    return point ? { after: point.after, feedId: point.feedId } : null;
  } finally {
    db.close();
  }
}

/** Forgets every stored snapshot (sign-in, sign-out: nothing of one user outlives their session). */
export async function forgetSnapshots(): Promise<void> {
  await deleteDB(OFFLINE_DB);
}
