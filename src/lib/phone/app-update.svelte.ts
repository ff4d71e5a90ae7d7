import { Workbox } from 'workbox-window';
import { dev, version } from '$app/environment';
import { onServerBuild } from '$lib/realtime/server-build.ts';

/** How long after the app starts the service worker is registered. */
const REGISTER_AFTER_MS = 2000;

/** Where a page remembers the server build it offered a reload for (without a service worker). */
const OFFERED_KEY = 'wf:build-offered';

/**
 * Registers the service worker through workbox-window and tells when a new version is waiting, so
 * the page can offer "update available — reload" instead of switching code under someone's feet.
 */
export class AppUpdate {
  #available = $state(false);
  #workbox: Workbox | null = null;
  /** A new service worker is installed and waits: reloading takes it (else a plain reload brings the new build). */
  #waiting = false;
  /** The delayed registration, then the hourly update check. */
  #timer: ReturnType<typeof setTimeout> | null = null;
  #unlisten: (() => void) | null = null;

  /** A new version is installed and waits for the person to reload. */
  get available(): boolean {
    return this.#available;
  }

  /**
   * Registers after `delayMs`: installing the worker fetches and caches every file of the app, which on
   * a first visit would compete with the first screen for the network, the server and the CPU.
   */
  start(delayMs = REGISTER_AFTER_MS): void {
    // The server says which build it serves whenever a socket starts. A page of another build speaks another
    // protocol version: it fetches the new build now, not at its hourly check (after a deploy, a wall would
    // otherwise read frames it may not understand for up to an hour).
    this.#unlisten ??= onServerBuild((serverVersion) => {
      if (!dev && serverVersion !== null && serverVersion !== version) this.#fetchBuild(serverVersion);
    });
    if (this.#workbox || this.#timer || !('serviceWorker' in navigator)) return;
    this.#timer = setTimeout(() => this.#register(), delayMs);
  }

  /**
   * Brings the server's build `serverVersion` now. A page a service worker serves asks it to update: the new build
   * installs, then waits (`available`). A page none serves (a plain-HTTP address, where browsers allow none) gets
   * the new build by reloading, offered once per server build: a build whose pages disagree with its version must
   * not reload a wall forever.
   */
  #fetchBuild(serverVersion: string): void {
    if ('serviceWorker' in navigator && navigator.serviceWorker.controller) {
      if (this.#workbox) void this.#workbox.update().catch(() => undefined);
      else {
        // Not registered yet (its delay runs): registering looks for a new worker too.
        if (this.#timer) clearTimeout(this.#timer);
        this.#register();
      }
      return;
    }
    if (sessionStorage.getItem(OFFERED_KEY) === serverVersion) return;
    sessionStorage.setItem(OFFERED_KEY, serverVersion);
    this.#available = true;
  }

  #register(): void {
    // SvelteKit serves the worker as an ES module in development and as a classic script when built.
    const workbox = new Workbox('/service-worker.js', { type: dev ? 'module' : 'classic' });
    this.#workbox = workbox;
    workbox.addEventListener('waiting', () => {
      this.#waiting = true;
      this.#available = true;
    });
    workbox.register().catch((error: unknown) => console.warn('service worker registration failed', error));
    // A screen left open for days still learns about deploys.
    this.#timer = setInterval(() => void workbox.update().catch(() => undefined), 60 * 60_000);
  }

  /** Activates the waiting version and reloads once it controls the page. */
  reload(): void {
    const workbox = this.#workbox;
    if (!workbox || !this.#waiting) return location.reload();
    workbox.addEventListener('controlling', () => location.reload());
    workbox.messageSkipWaiting();
  }

  dismiss(): void {
    this.#available = false;
  }

  stop(): void {
    this.#unlisten?.();
    this.#unlisten = null;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
