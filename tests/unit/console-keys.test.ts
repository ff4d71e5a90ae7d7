import { describe, expect, it } from 'vitest';
import { KEY_BINDINGS, isTyping, queueCommandFor } from '../../src/lib/console/queue-keys.ts';

const on = (tagName: string, type?: string) => ({ tagName, type });

describe('console keyboard map', () => {
  it('maps the documented single keys', () => {
    const keys: [string, string][] = [
      ['j', 'down'],
      ['k', 'up'],
      ['x', 'select'],
      ['a', 'acknowledge'],
      ['r', 'resolve'],
      ['s', 'snooze'],
      ['e', 'assign'],
      ['n', 'note'],
      ['/', 'search'],
      ['?', 'help'],
      ['Escape', 'close'],
      ['ArrowDown', 'down'],
      ['Enter', 'open'],
    ];
    for (const [key, command] of keys) expect(queueCommandFor({ key, target: on('DIV') }), key).toBe(command);
  });

  it('leaves keys alone while typing in a field, except Esc', () => {
    expect(queueCommandFor({ key: 'a', target: on('INPUT', 'search') })).toBeNull();
    expect(queueCommandFor({ key: 'j', target: on('TEXTAREA') })).toBeNull();
    expect(queueCommandFor({ key: '/', target: { tagName: 'DIV', isContentEditable: true } })).toBeNull();
    expect(queueCommandFor({ key: 'Escape', target: on('INPUT', 'text') })).toBe('close');
    // A checkbox is not a text field: shortcuts still work there.
    expect(isTyping(on('INPUT', 'checkbox'))).toBe(false);
  });

  it('never steals browser shortcuts or Enter on a button', () => {
    expect(queueCommandFor({ key: 'r', ctrlKey: true })).toBeNull();
    expect(queueCommandFor({ key: 'a', metaKey: true })).toBeNull();
    expect(queueCommandFor({ key: 'Enter', target: on('BUTTON') })).toBeNull();
    expect(queueCommandFor({ key: 'q' })).toBeNull();
  });

  it('the help overlay lists every command the handler knows', () => {
    const listed = new Set(KEY_BINDINGS.map((b) => b.command));
    for (const key of ['j', 'k', 'g', 'G', 'o', 'x', '*', 'a', 'u', 'r', 's', 'e', 't', 'n', 'p', 'm', '/', '?', 'Escape']) {
      const command = queueCommandFor({ key });
      expect(command, key).not.toBeNull();
      expect(listed.has(command!), key).toBe(true);
    }
  });
});
