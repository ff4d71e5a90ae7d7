/**
 * Alert text is untrusted: a URL in a label or annotation becomes a link only when it is http or
 * https (never `javascript:`, `data:` or anything else), and then only as the href of an `<a>`
 * whose text is rendered as text. Pure.
 */

/** The normalised href for an http(s) URL, or null for anything else. */
export function safeHttpUrl(text: string | null | undefined): string | null {
  if (!text) return null;
  const trimmed = text.trim();
  if (!/^https?:\/\//i.test(trimmed)) return null;
  try {
    const url = new URL(trimmed);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** Annotation keys that name a link, with the label people know them by. */
const LINK_NAMES: Record<string, string> = {
  runbook_url: 'Runbook',
  runbook: 'Runbook',
  dashboard_url: 'Dashboard',
  dashboard: 'Dashboard',
  generatorurl: 'Source graph',
  generator_url: 'Source graph',
  silence_url: 'Silence',
  silenceurl: 'Silence',
  panel_url: 'Panel',
  panelurl: 'Panel',
};

/** A readable label for a link annotation (`runbook_url` → "Runbook"). */
export function linkLabel(key: string, fallback: string): string {
  return LINK_NAMES[key.toLowerCase()] ?? (fallback || key);
}
