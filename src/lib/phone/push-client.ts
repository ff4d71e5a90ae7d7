import { api } from '$lib/api/client.ts';
import type { PushPublicKeyResponse, PushSubscriptionDto, PushTestResponse } from '$lib/protocol/push.ts';

/**
 * What this browser can do about notifications:
 * - `unsupported`: no service worker or Push API (an old browser, or iOS Safari outside the home screen);
 * - `needs-install`: iOS/iPadOS, where Web Push works only once the app is added to the home screen;
 * - `supported`.
 */
export type PushSupport = 'unsupported' | 'needs-install' | 'supported';

export function isAppleMobile(): boolean {
  // iPadOS reports itself as a Mac; touch points tell them apart.
  return /iPhone|iPad|iPod/.test(navigator.userAgent) || (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);
}

export function isStandalone(): boolean {
  return matchMedia('(display-mode: standalone)').matches || (navigator as Navigator & { standalone?: boolean }).standalone === true;
}

export function pushSupport(): PushSupport {
  const capable = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  if (isAppleMobile() && !isStandalone()) return 'needs-install';
  return capable ? 'supported' : 'unsupported';
}

function base64urlToBytes(value: string): Uint8Array<ArrayBuffer> {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(value.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function sameKey(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (a === null || a.byteLength !== b.byteLength) return false;
  const view = new Uint8Array(a);
  return view.every((byte, i) => byte === b[i]);
}

async function registration(): Promise<ServiceWorkerRegistration> {
  return navigator.serviceWorker.ready;
}

/**
 * This device's push subscription, if notifications are on here. One made for a VAPID key the server no
 * longer has (replaced by `watchfloor secrets reset`) receives nothing: it counts as off, so the phone offers
 * to enable notifications again. Offline, the subscription is taken as it is.
 */
export async function currentSubscription(): Promise<PushSubscription | null> {
  if (pushSupport() !== 'supported') return null;
  const subscription = await (await registration()).pushManager.getSubscription();
  if (!subscription) return null;
  const serverKey = await api<PushPublicKeyResponse>('GET', '/push/public-key').then(
    ({ publicKey }) => base64urlToBytes(publicKey),
    () => null,
  );
  return serverKey === null || sameKey(subscription.options.applicationServerKey, serverKey) ? subscription : null;
}

/**
 * Turns notifications on for this device: asks for permission (call it from a tap, never on load),
 * subscribes with the server's VAPID key and registers the subscription with the server.
 * @returns the permission the person gave.
 */
export async function enableNotifications(): Promise<NotificationPermission> {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission;
  const { publicKey } = await api<PushPublicKeyResponse>('GET', '/push/public-key');
  const key = base64urlToBytes(publicKey);
  const pushManager = (await registration()).pushManager;
  let subscription = await pushManager.getSubscription();
  // A subscription made for another server key (the server's keys changed) cannot receive our pushes.
  if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await api<PushSubscriptionDto>('POST', '/push/subscriptions', subscription.toJSON());
  return permission;
}

/** Turns notifications off for this device, here and on the server. */
export async function disableNotifications(): Promise<void> {
  const subscription = await currentSubscription();
  if (!subscription) return;
  await api<void>('DELETE', '/push/subscriptions', { endpoint: subscription.endpoint }).catch(() => undefined);
  await subscription.unsubscribe();
}

export function sendTestNotification(): Promise<PushTestResponse> {
  return api<PushTestResponse>('POST', '/push/test');
}
