import { Workbox } from 'workbox-window';
import { dev } from '$app/environment';

/** How long after the app starts the service worker is registered. */
const REGISTER_AFTER_MS = 2000;

/**
 * Registers the service worker through workbox-window and tells when a new version is waiting, so
 * the page can offer "update available — reload" instead of switching code under someone's feet.
 */
export class AppUpdate {
  #available = $state(false);
  #workbox: Workbox | null = null;
  /** The delayed registration, then the hourly update check. */
  #timer: ReturnType<typeof setTimeout> | null = null;

  /** A new version is installed and waits for the person to reload. */
  get available(): boolean {
    return this.#available;
  }

  /**
   * Registers after `delayMs`: installing the worker fetches and caches every file of the app, which on
   * a first visit would compete with the first screen for the network, the server and the CPU.
   */
  start(delayMs = REGISTER_AFTER_MS): void {
    if (this.#workbox || this.#timer || !('serviceWorker' in navigator)) return;
    this.#timer = setTimeout(() => this.#register(), delayMs);
  }

  #register(): void {
    // SvelteKit serves the worker as an ES module in development and as a classic script when built.
    const workbox = new Workbox('/service-worker.js', { type: dev ? 'module' : 'classic' });
    this.#workbox = workbox;
    workbox.addEventListener('waiting', () => (this.#available = true));
    workbox.register().catch((error: unknown) => console.warn('service worker registration failed', error));
    // A screen left open for days still learns about deploys.
    this.#timer = setInterval(() => void workbox.update().catch(() => undefined), 60 * 60_000);
  }

  /** Activates the waiting version and reloads once it controls the page. */
  reload(): void {
    const workbox = this.#workbox;
    if (!workbox) return location.reload();
    workbox.addEventListener('controlling', () => location.reload());
    workbox.messageSkipWaiting();
  }

  dismiss(): void {
    this.#available = false;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
