import { createContext } from 'svelte';
import { api, ApiError, failureMessage } from '$lib/api/client.ts';
import { ROLE_RANK, type Role } from '$lib/domain/roles.ts';
import type { SessionResponse, SessionUser } from '$lib/protocol/api.ts';
import type { Connection } from '$lib/realtime/connection.svelte.ts';
import type { UpdateMeRequest } from '$lib/protocol/console.ts';

/** The answer to the check {@link checkSessionEarly} started, until the first {@link SessionState.load} takes it. */
let earlyCheck: Promise<SessionResponse> | null = null;

/**
 * Asks who is signed in as the app starts, beside the first socket: the layout that waits for the
 * answer loads its code only later, and on a first visit that is most of the way to the first render.
 * Returns the answer for whoever else needs it before the layout (the phone's first handshake).
 */
export function checkSessionEarly(): Promise<SessionResponse> {
  earlyCheck ??= api<SessionResponse>('GET', '/session');
  earlyCheck.catch(() => undefined); // its failure is the layout's to show, when it takes the answer
  return earlyCheck;
}

/**
 * Who is signed in on this page, and the calls that change it. The cookie itself is HttpOnly:
 * the page only ever knows what `GET /api/v1/session` tells it.
 */
export class SessionState {
  #user = $state<SessionUser | null>(null);
  #expiresAt = $state<string | null>(null);
  #loaded = $state(false);
  #loadError = $state<string | null>(null);
  #shiftSaving = $state(false);
  #shiftError = $state<string | null>(null);

  /** The signed-in user, or null. */
  get user(): SessionUser | null {
    return this.#user;
  }
  get expiresAt(): string | null {
    return this.#expiresAt;
  }
  /** False until the first answer to {@link load}; guards must wait for it. */
  get loaded(): boolean {
    return this.#loaded;
  }
  /** Why the session could not be checked (server unreachable), for people. */
  get loadError(): string | null {
    return this.#loadError;
  }

  /** True when the user's role is `role` or more powerful. */
  can(role: Role): boolean {
    return this.#user !== null && ROLE_RANK[this.#user.role] >= ROLE_RANK[role];
  }

  /** Asks the server who we are; a 401 simply means nobody. */
  async load(): Promise<void> {
    const pending = earlyCheck ?? api<SessionResponse>('GET', '/session');
    earlyCheck = null;
    try {
      this.#accept(await pending);
      this.#loadError = null;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.#clear();
        this.#loadError = null;
      } else {
        this.#loadError = failureMessage(error);
      }
    } finally {
      this.#loaded = true;
    }
  }

  /** Signs in; throws ApiError (its message is written for people) when refused. */
  async signIn(email: string, password: string): Promise<SessionUser> {
    const response = await api<SessionResponse>('POST', '/session', { email, password });
    this.#accept(response);
    this.#loaded = true;
    return response.user;
  }

  /** Signs out on the server (which also ends this session's sockets); a session already gone is fine. */
  async signOut(): Promise<void> {
    try {
      await api<void>('DELETE', '/session');
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) throw error;
    } finally {
      this.#clear();
    }
  }

  /** Changes the password; throws ApiError with `path` naming the field at fault. */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await api<void>('POST', '/session/password', { currentPassword, newPassword });
    if (this.#user) this.#user = { ...this.#user, mustChangePassword: false };
  }

  /** Saves my own preferences (on shift: the lead sees it and push pages me; chime) and takes the server's answer. */
  async updatePreferences(patch: UpdateMeRequest): Promise<void> {
    this.#accept(await api<SessionResponse>('PATCH', '/session/me', patch));
  }

  /** Whether I am marked on shift: the shift lead sees me as available and push pages me. */
  get onShift(): boolean {
    return this.#user?.onShift ?? false;
  }
  /** True while a change of {@link onShift} is being saved. */
  get shiftSaving(): boolean {
    return this.#shiftSaving;
  }
  /** Why the last change of {@link onShift} was not saved, for people. */
  get shiftError(): string | null {
    return this.#shiftError;
  }

  /** Goes on or off shift (the console's top bar and the phone both offer it). */
  async toggleOnShift(): Promise<void> {
    this.#shiftSaving = true;
    this.#shiftError = null;
    try {
      await this.updatePreferences({ onShift: !this.onShift });
    } catch (error) {
      this.#shiftError = failureMessage(error);
    } finally {
      this.#shiftSaving = false;
    }
  }

  #accept(response: SessionResponse) {
    this.#user = response.user;
    this.#expiresAt = response.expiresAt;
  }

  #clear() {
    this.#user = null;
    this.#expiresAt = null;
  }
}

/**
 * Where to go after signing in: only a path on this origin (`/…`, never `//host` or `/\host`),
 * so a crafted link cannot send people elsewhere.
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (next === '/login' || next.startsWith('/login?') || next.startsWith('/logout')) return '/';
  return next;
}

const [getSession, setSession] = createContext<SessionState>();

/** The page's {@link SessionState}, provided once by the root layout. */
export function getSessionContext(): SessionState {
  return getSession();
}
export function setSessionContext(session: SessionState): SessionState {
  return setSession(session);
}

/** The app's one realtime connection: present while someone is signed in, null otherwise. */
export interface ConnectionRef {
  readonly current: Connection | null;
}

const [getConnection, setConnection] = createContext<ConnectionRef>();

/** The connection holder provided by the root layout; read `.current` inside markup or `$derived`. */
export function getConnectionContext(): ConnectionRef {
  return getConnection();
}
export function setConnectionContext(ref: ConnectionRef): ConnectionRef {
  return setConnection(ref);
}
