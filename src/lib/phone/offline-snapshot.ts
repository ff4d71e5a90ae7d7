import { deleteDB, openDB, type DBSchema } from 'idb';
import type { IncidentDto } from '$lib/protocol/incidents.ts';

/** IndexedDB database holding the phone's last known incidents, for an offline start. */
export const OFFLINE_DB = 'watchfloor-offline';
/** Set by the service worker on API answers it gives from its cache (offline): when they were stored. */
export const FROM_CACHE_HEADER = 'x-watchfloor-cached-at';

/** The last incidents the phone saw while live, and when they were last known to be current. */
export interface StoredSnapshot {
  /** Whose they are: another user signing in on this device never sees them. */
  userId: string;
  /** ISO time the server last confirmed them (the latest message while live). */
  currentAt: string;
  lastChangeId: number;
  incidents: IncidentDto[];
}

interface OfflineSchema extends DBSchema {
  snapshots: { key: string; value: StoredSnapshot };
}

function open() {
  return openDB<OfflineSchema>(OFFLINE_DB, 1, {
    upgrade(db) {
      db.createObjectStore('snapshots', { keyPath: 'userId' });
    },
  });
}

/** Keeps `snapshot` as this user's last known state (one per user, replaced each time). */
export async function saveSnapshot(snapshot: StoredSnapshot): Promise<void> {
  const db = await open();
  try {
    // Svelte state proxies cannot be cloned into IndexedDB: store plain data.
    await db.put('snapshots', JSON.parse(JSON.stringify(snapshot)) as StoredSnapshot);
  } finally {
    db.close();
  }
}

/** This user's last known state, or null. */
export async function loadSnapshot(userId: string): Promise<StoredSnapshot | null> {
  const db = await open();
  try {
    return (await db.get('snapshots', userId)) ?? null;
  } finally {
    db.close();
  }
}

/** Forgets every stored snapshot (sign-in, sign-out: nothing of one user outlives their session). */
export async function forgetSnapshots(): Promise<void> {
  await deleteDB(OFFLINE_DB);
}
