/**
 * Draws the app's PNG icons (manifest, Apple touch icon, notification badge) from the favicon's
 * shapes with a tiny anti-aliased rasteriser and a dependency-free PNG writer (node:zlib).
 * Run `node scripts/generate-icons.ts` after changing the design; the PNGs are committed.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

type Rgba = [number, number, number, number];
const BACKGROUND: Rgba = [0x0f, 0x17, 0x2a, 255];
const PULSE: Rgba = [0x38, 0xbd, 0xf8, 255];
const WHITE: Rgba = [255, 255, 255, 255];
/** The favicon's pulse line, in its 32×32 box. */
const LINE: [number, number][] = [[6, 22], [10, 22], [13, 12], [17, 26], [20, 18], [26, 18]];

/** A PNG file (8-bit RGBA, no interlace) from raw pixels. */
export function encodePng(width: number, height: number, pixels: Uint8Array): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // bit depth 8, colour type RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    raw.set(pixels.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function distanceToSegment(px: number, py: number, [ax, ay]: [number, number], [bx, by]: [number, number]): number {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Signed distance to a rounded square covering the whole canvas (negative inside). */
function roundedSquare(px: number, py: number, size: number, radius: number): number {
  const qx = Math.abs(px - size / 2) - (size / 2 - radius);
  const qy = Math.abs(py - size / 2) - (size / 2 - radius);
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
}

const coverage = (signedDistance: number) => Math.max(0, Math.min(1, 0.5 - signedDistance));

function over(pixels: Uint8Array, i: number, [r, g, b]: Rgba, alpha: number): void {
  const a = pixels[i + 3] / 255;
  const outA = alpha + a * (1 - alpha);
  if (outA === 0) return;
  pixels[i] = Math.round((r * alpha + pixels[i] * a * (1 - alpha)) / outA);
  pixels[i + 1] = Math.round((g * alpha + pixels[i + 1] * a * (1 - alpha)) / outA);
  pixels[i + 2] = Math.round((b * alpha + pixels[i + 2] * a * (1 - alpha)) / outA);
  pixels[i + 3] = Math.round(outA * 255);
}

/**
 * any: the favicon (rounded square, transparent corners). maskable: full-bleed background, the line
 * inside the central safe circle (radius 40 %). badge: the line alone in white (Android tints it).
 */
function drawIcon(size: number, kind: 'any' | 'maskable' | 'badge'): Buffer {
  const pixels = new Uint8Array(size * size * 4);
  // The line's box is x 6–26, y 12–26: centre it, and scale it into the safe zone for maskable icons.
  const scale = kind === 'maskable' ? (size * 0.56) / 20 : kind === 'badge' ? (size * 0.8) / 20 : size / 32;
  const offsetX = size / 2 - 16 * scale;
  const offsetY = size / 2 - 19 * scale;
  const points = LINE.map(([x, y]) => [offsetX + x * scale, offsetY + y * scale] as [number, number]);
  const halfWidth = (kind === 'badge' ? 3.2 : 2.5) * 0.5 * scale;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      const px = x + 0.5;
      const py = y + 0.5;
      if (kind === 'any') over(pixels, i, BACKGROUND, coverage(roundedSquare(px, py, size, (6 / 32) * size)));
      if (kind === 'maskable') over(pixels, i, BACKGROUND, 1);
      let nearest = Infinity;
      for (let s = 0; s + 1 < points.length; s++) nearest = Math.min(nearest, distanceToSegment(px, py, points[s], points[s + 1]));
      over(pixels, i, kind === 'badge' ? WHITE : PULSE, coverage(nearest - halfWidth));
    }
  }
  return encodePng(size, size, pixels);
}

if (import.meta.main) {
  const out = path.join(import.meta.dirname, '..', 'static', 'icons');
  fs.mkdirSync(out, { recursive: true });
  const icons: [string, number, 'any' | 'maskable' | 'badge'][] = [
    ['icon-192.png', 192, 'any'],
    ['icon-512.png', 512, 'any'],
    ['maskable-192.png', 192, 'maskable'],
    ['maskable-512.png', 512, 'maskable'],
    ['apple-touch-icon.png', 180, 'maskable'],
    ['badge-96.png', 96, 'badge'],
  ];
  for (const [name, size, kind] of icons) {
    fs.writeFileSync(path.join(out, name), drawIcon(size, kind));
    console.log(`static/icons/${name} (${size}×${size}, ${kind})`);
  }
}
