import fs from 'node:fs';
import path from 'node:path';

/** Raised when another live process already holds the PGlite data folder. */
export class DataFolderInUseError extends Error {}

export interface DataLock {
  release(): void;
}

/**
 * PGlite is one process per data folder: two processes on one folder both start and silently
 * diverge. The lock file holds the owner's pid; a lock whose process is gone is taken over.
 */
export function acquireDataLock(dataDir: string): DataLock {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockPath = path.join(dataDir, 'watchfloor.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lockPath, 'wx', 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return {
        release() {
          if (readOwner(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(lockPath);
      if (owner !== null && isAlive(owner)) {
        throw new DataFolderInUseError(
          `The data folder ${dataDir} is in use by another Watchfloor process (pid ${owner}). ` +
            'Embedded PGlite allows one process per folder: stop that process, use the CLI (it talks to the running ' +
            'server), choose another WATCHFLOOR_DATA, or set DATABASE_URL to share a Postgres server.',
        );
      }
      fs.rmSync(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new DataFolderInUseError(`Could not lock the data folder ${dataDir}`);
}

function readOwner(lockPath: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockPath, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
