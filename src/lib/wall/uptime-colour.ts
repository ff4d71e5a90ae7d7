/**
 * The heatmap's colour scale: availability → colour on cividis, a sequential palette designed to read
 * the same for people with colour-vision deficiency (and in greyscale: lightness rises monotonically).
 * Fine is dark and calm; the more downtime, the brighter. Downtime is on a log scale so that 99.9 %,
 * 99 % and 90 % look clearly different — the differences an SLA cares about. Pure.
 */
import { interpolateCividis } from 'd3';

/** Where the scale starts: at or above this availability a cell is "fine" (the darkest colour). */
export const FULL_MARKS = 0.9999;

/** 0 (fine) … 1 (down the whole bucket) from availability 0–1. */
export function badness(availability: number): number {
  const down = 1 - Math.min(1, Math.max(0, availability));
  if (down <= 1 - FULL_MARKS) return 0;
  // 0.01 % down → 0, 0.1 % → 0.25, 1 % → 0.5, 10 % → 0.75, 100 % → 1
  return Math.min(1, Math.max(0, (Math.log10(down) + 4) / 4));
}

/** The part of cividis the scale uses: its darkest end is too close to the wall's background. */
const FROM = 0.12;

/** CSS colour for an availability. */
export function uptimeColour(availability: number): string {
  return interpolateCividis(FROM + badness(availability) * (1 - FROM));
}

const CACHE_STEPS = 256;
let cache: string[] | null = null;

/** The same through a 256-step table: the heatmap colours up to 180,000 cells per draw. */
export function uptimeColourFast(availability: number): string {
  cache ??= Array.from({ length: CACHE_STEPS }, (_, i) => interpolateCividis(FROM + (i / (CACHE_STEPS - 1)) * (1 - FROM)));
  return cache[Math.round(badness(availability) * (CACHE_STEPS - 1))];
}

/** Legend ticks, left (fine) to right (down). */
export const LEGEND_TICKS: { availability: number; label: string }[] = [
  { availability: 1, label: '100%' },
  { availability: 0.999, label: '99.9%' },
  { availability: 0.99, label: '99%' },
  { availability: 0.9, label: '90%' },
  { availability: 0, label: '0%' },
];

/** Relative luminance (WCAG) of a `#rrggbb` or `rgb(r, g, b)` colour: tests use it to check the scale is monotonic. */
export function luminance(colour: string): number {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  const rgb = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(colour);
  if (!hex && !rgb) throw new Error(`not a colour: ${colour}`);
  const [r, g, b] = hex ? hex.slice(1).map((v) => parseInt(v, 16) / 255) : rgb!.slice(1).map((v) => Number(v) / 255);
  const lin = (c: number) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}
