import { describe, expect, it } from 'vitest';
import { badness, luminance, uptimeColour, uptimeColourFast, LEGEND_TICKS } from '../../src/lib/wall/uptime-colour.ts';

describe('uptime colour scale', () => {
  it('is calm at full availability and rises on a log scale of downtime', () => {
    expect(badness(1)).toBe(0);
    expect(badness(0.99995)).toBe(0);
    expect(badness(0.999)).toBeCloseTo(0.25);
    expect(badness(0.99)).toBeCloseTo(0.5);
    expect(badness(0.9)).toBeCloseTo(0.75);
    expect(badness(0)).toBe(1);
    expect(badness(2)).toBe(0);
    expect(badness(-1)).toBe(1);
  });

  it('gets lighter with every step of downtime, so it reads in greyscale and with colour-vision deficiency', () => {
    const steps = [1, 0.9999, 0.999, 0.995, 0.99, 0.95, 0.9, 0.5, 0];
    const lums = steps.map((a) => luminance(uptimeColour(a)));
    for (let i = 1; i < lums.length; i++) expect(lums[i]).toBeGreaterThanOrEqual(lums[i - 1]);
    // Fine and fully down are far apart (contrast ratio of the ends).
    expect((lums[lums.length - 1] + 0.05) / (lums[0] + 0.05)).toBeGreaterThan(7);
  });

  it('the fast table agrees with the exact scale', () => {
    for (const tick of LEGEND_TICKS) expect(luminance(uptimeColourFast(tick.availability))).toBeCloseTo(luminance(uptimeColour(tick.availability)), 2);
  });
});
