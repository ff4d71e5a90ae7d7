/**
 * Servers started and stopped, one after another or side by side, on one database and data folder (a store),
 * and the database opened while none holds it: for tests of what a restart keeps or refuses.
 */
import { openDatabase, type Database } from '../../server/db/database.ts';
import { startTestServer, type TestServer } from './test-server.ts';

export class ServersOnStore {
  /** The servers running now, oldest first. */
  readonly running: TestServer[] = [];
  readonly #store: () => { databaseUrl: string | null; dataDir: string };

  /** `store` is read at each start: tests often open it in a `beforeAll`. */
  constructor(store: () => { databaseUrl: string | null; dataDir: string }) {
    this.#store = store;
  }

  async start(env: Record<string, string> = {}): Promise<TestServer> {
    const { databaseUrl, dataDir } = this.#store();
    const server = await startTestServer(databaseUrl, { WATCHFLOOR_DATA: dataDir, ...env });
    this.running.push(server);
    return server;
  }

  async stop(server: TestServer): Promise<void> {
    await server.stop();
    this.running.splice(this.running.indexOf(server), 1);
  }

  async stopAll(): Promise<void> {
    for (const server of this.running.splice(0)) await server.stop();
  }

  /** The database itself, while no server holds it (PGlite allows one process). */
  async withDatabase<T>(use: (database: Database) => Promise<T>): Promise<T> {
    const { databaseUrl, dataDir } = this.#store();
    const database = await openDatabase({ url: databaseUrl, dataDir });
    try {
      return await use(database);
    } finally {
      await database.close();
    }
  }
}
