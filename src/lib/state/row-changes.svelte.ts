import { failureMessage } from '$lib/api/client.ts';

/**
 * Changes to the rows of an admin table (a user, a source), one at a time: which row's change is on its way,
 * and the last refusal, which the table shows on the row it concerns.
 */
export class RowChanges {
  #busyId = $state<string | null>(null);
  #refused = $state<{ id: string; message: string } | null>(null);

  /** The row whose change is on its way to the server. */
  get busyId(): string | null {
    return this.#busyId;
  }
  /** The last refused change and the row it concerns. */
  get refused(): { id: string; message: string } | null {
    return this.#refused;
  }

  /** Forgets the last refusal (something else succeeded since). */
  clear(): void {
    this.#refused = null;
  }

  /** Runs `change` for row `id`; a refusal is kept for that row rather than thrown. True when it went through. */
  async run(id: string, change: () => Promise<void>): Promise<boolean> {
    this.#busyId = id;
    this.#refused = null;
    try {
      await change();
      return true;
    } catch (error) {
      this.#refused = { id, message: failureMessage(error) };
      return false;
    } finally {
      this.#busyId = null;
    }
  }
}
