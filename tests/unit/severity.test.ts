import { describe, expect, it } from 'vitest';
import {
  SEVERITIES,
  SEVERITY_PRIORITY,
  SEVERITY_TABLE_MARKDOWN,
  SEVERITY_WORDS,
  isSeverity,
  severityFromText,
  severityPriority,
  severityRank,
  worstSeverity,
} from '../../src/lib/domain/severity.ts';

describe('severity scale', () => {
  it('orders critical > high > warning > info and maps them to P1–P4', () => {
    expect(SEVERITIES).toEqual(['critical', 'high', 'warning', 'info']);
    const ranks = SEVERITIES.map(severityRank);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    expect(new Set(ranks).size).toBe(4);
    expect(SEVERITIES.map(severityPriority)).toEqual(['P1', 'P2', 'P3', 'P4']);
    expect(SEVERITY_PRIORITY.critical).toBe('P1');
  });

  it('worstSeverity picks the most severe, info for an empty list', () => {
    expect(worstSeverity(['info', 'high', 'warning'])).toBe('high');
    expect(worstSeverity(['warning', 'critical', 'info'])).toBe('critical');
    expect(worstSeverity([])).toBe('info');
    expect(worstSeverity(new Set(['warning'] as const))).toBe('warning');
  });

  it('isSeverity accepts only the four names', () => {
    expect(isSeverity('high')).toBe(true);
    expect(isSeverity('toString')).toBe(false);
    expect(isSeverity('P1')).toBe(false);
    expect(isSeverity(undefined)).toBe(false);
  });
});

describe('severityFromText', () => {
  const table: [string, string][] = [
    ['critical', 'critical'], ['crit', 'critical'], ['fatal', 'critical'], ['emergency', 'critical'],
    ['alert', 'critical'], ['disaster', 'critical'], ['p1', 'critical'], ['page', 'critical'],
    ['high', 'high'], ['error', 'high'], ['err', 'high'], ['major', 'high'], ['p2', 'high'],
    ['warning', 'warning'], ['warn', 'warning'], ['average', 'warning'], ['minor', 'warning'], ['p3', 'warning'],
    ['info', 'info'], ['informational', 'info'], ['low', 'info'], ['none', 'info'], ['ok', 'info'],
    ['debug', 'info'], ['p4', 'info'], ['p5', 'info'],
  ];
  it.each(table)('%s → %s', (word, expected) => {
    expect(severityFromText(word)).toBe(expected);
  });

  it('ignores case and surrounding spaces', () => {
    expect(severityFromText('  CRITICAL ')).toBe('critical');
    expect(severityFromText('P2')).toBe('high');
    expect(severityFromText('Warning')).toBe('warning');
  });

  it('treats unknown or missing text as warning', () => {
    expect(severityFromText(undefined)).toBe('warning');
    expect(severityFromText('')).toBe('warning');
    expect(severityFromText('bananas')).toBe('warning');
    expect(severityFromText('constructor')).toBe('warning');
  });

  it('documents every recognised word in the markdown table', () => {
    for (const s of SEVERITIES) {
      for (const word of SEVERITY_WORDS[s]) {
        expect(severityFromText(word)).toBe(s);
        expect(SEVERITY_TABLE_MARKDOWN).toContain(word);
      }
      expect(SEVERITY_TABLE_MARKDOWN).toContain(`| ${s} | ${SEVERITY_PRIORITY[s]} |`);
    }
  });
});
