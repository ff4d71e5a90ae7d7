import { api, failureMessage } from '$lib/api/client.ts';
import type { HandoverDto, LeadOverviewDto } from '$lib/protocol/console.ts';
import type { IncidentsState } from '$lib/state/incidents.svelte.ts';

/** How often the lead's figures are fetched again without any change (ages, who signed in). */
const REFRESH_MS = 30_000;
/** Changes arriving in a burst cause one reload, this long after the last. */
const SETTLE_MS = 600;

/**
 * The shift lead's overview (`GET /api/v1/lead/overview`), reloaded when the live feed shows a
 * change and every {@link REFRESH_MS} for ages and presence.
 */
export class LeadOverviewState {
  #overview = $state.raw<LeadOverviewDto | null>(null);
  #error = $state<string | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticker: ReturnType<typeof setInterval>;
  #off: (() => void) | null = null;
  #closed = false;

  constructor() {
    this.#ticker = setInterval(() => void this.load(), REFRESH_MS);
  }

  get overview(): LeadOverviewDto | null {
    return this.#overview;
  }
  get error(): string | null {
    return this.#error;
  }

  follow(feed: IncidentsState): void {
    this.#off?.();
    this.#off = feed.onApplied((applied) => {
      if (applied.snapshot && this.#overview) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.load(), SETTLE_MS);
    });
  }

  async load(): Promise<void> {
    try {
      const overview = await api<LeadOverviewDto>('GET', '/lead/overview');
      if (this.#closed) return;
      this.#overview = overview;
      this.#error = null;
    } catch (error) {
      if (!this.#closed) this.#error = failureMessage(error);
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#ticker);
    this.#off?.();
  }
}

/** The handover view since a chosen time (`GET /api/v1/lead/handover?since=`). */
export class HandoverState {
  #handover = $state.raw<HandoverDto | null>(null);
  #error = $state<string | null>(null);
  #loading = $state(false);

  get handover(): HandoverDto | null {
    return this.#handover;
  }
  get error(): string | null {
    return this.#error;
  }
  get loading(): boolean {
    return this.#loading;
  }

  async load(since: Date): Promise<void> {
    this.#loading = true;
    try {
      this.#handover = await api<HandoverDto>('GET', `/lead/handover?${new URLSearchParams({ since: since.toISOString() })}`);
      this.#error = null;
    } catch (error) {
      this.#error = failureMessage(error);
    } finally {
      this.#loading = false;
    }
  }
}
