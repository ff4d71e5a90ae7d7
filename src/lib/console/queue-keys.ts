/**
 * The console's keyboard map (PagerDuty/Gmail style single keys), and the decision whether a key
 * press is a shortcut at all. Pure, so the map is unit-tested and the help overlay lists exactly
 * what the handler does.
 */

export type QueueCommand =
  | 'down'
  | 'up'
  | 'first'
  | 'last'
  | 'open'
  | 'select'
  | 'selectAll'
  | 'acknowledge'
  | 'unacknowledge'
  | 'resolve'
  | 'snooze'
  | 'assign'
  | 'takeOver'
  | 'note'
  | 'severity'
  | 'merge'
  | 'search'
  | 'help'
  | 'close';

export interface KeyBinding {
  /** Keys as shown to people. */
  keys: string[];
  command: QueueCommand;
  /** What it does, for the help overlay. */
  label: string;
  /** Only for people who may act on incidents (not viewers). */
  acts?: boolean;
}

/** Every shortcut, in the order the help overlay lists them. */
export const KEY_BINDINGS: readonly KeyBinding[] = [
  { keys: ['j', '↓'], command: 'down', label: 'Next incident' },
  { keys: ['k', '↑'], command: 'up', label: 'Previous incident' },
  { keys: ['g', 'Home'], command: 'first', label: 'First incident' },
  { keys: ['G', 'End'], command: 'last', label: 'Last incident' },
  { keys: ['o', 'Enter'], command: 'open', label: 'Open the incident' },
  { keys: ['x'], command: 'select', label: 'Select or unselect' },
  { keys: ['*'], command: 'selectAll', label: 'Select every shown incident, or none' },
  { keys: ['a'], command: 'acknowledge', label: 'Acknowledge', acts: true },
  { keys: ['u'], command: 'unacknowledge', label: 'Unacknowledge', acts: true },
  { keys: ['r'], command: 'resolve', label: 'Resolve with a note', acts: true },
  { keys: ['s'], command: 'snooze', label: 'Snooze until…', acts: true },
  { keys: ['e'], command: 'assign', label: 'Assign or reassign', acts: true },
  { keys: ['t'], command: 'takeOver', label: 'Take over (assign to me)', acts: true },
  { keys: ['n'], command: 'note', label: 'Add a note', acts: true },
  { keys: ['p'], command: 'severity', label: 'Change severity', acts: true },
  { keys: ['m'], command: 'merge', label: 'Merge the selection into one', acts: true },
  { keys: ['/'], command: 'search', label: 'Search' },
  { keys: ['?'], command: 'help', label: 'Show these shortcuts' },
  { keys: ['Esc'], command: 'close', label: 'Close the dialog, clear the search or the selection' },
];

const BY_KEY: ReadonlyMap<string, QueueCommand> = new Map([
  ['j', 'down'],
  ['ArrowDown', 'down'],
  ['k', 'up'],
  ['ArrowUp', 'up'],
  ['g', 'first'],
  ['Home', 'first'],
  ['G', 'last'],
  ['End', 'last'],
  ['o', 'open'],
  ['Enter', 'open'],
  ['x', 'select'],
  ['*', 'selectAll'],
  ['a', 'acknowledge'],
  ['u', 'unacknowledge'],
  ['r', 'resolve'],
  ['s', 'snooze'],
  ['e', 'assign'],
  ['t', 'takeOver'],
  ['n', 'note'],
  ['p', 'severity'],
  ['m', 'merge'],
  ['/', 'search'],
  ['?', 'help'],
  ['Escape', 'close'],
]);

/** The parts of a KeyboardEvent the map reads. */
export interface KeyPress {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  /** Where the key was pressed (an element, or any other event target). */
  target?: KeyTarget | EventTarget | null;
}

/** The parts of an element the map reads. */
export interface KeyTarget {
  tagName?: string;
  isContentEditable?: boolean;
  type?: string;
}

const TYPING_INPUTS = new Set(['text', 'search', 'email', 'password', 'number', 'url', 'tel', 'datetime-local', 'date', 'time', '']);

/** True when the key goes into a text field (where `j` is a letter, not a shortcut). */
export function isTyping(eventTarget: KeyPress['target']): boolean {
  if (!eventTarget) return false;
  const target = eventTarget as KeyTarget;
  if (target.isContentEditable) return true;
  const tag = target.tagName?.toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  return tag === 'INPUT' && TYPING_INPUTS.has((target.type ?? '').toLowerCase());
}

/**
 * The queue command for a key press, or null when it is not one: modified keys (Ctrl+R reloads)
 * and typing in a field are left alone, except Esc, which always closes.
 */
export function queueCommandFor(press: KeyPress): QueueCommand | null {
  if (press.ctrlKey || press.metaKey || press.altKey) return null;
  if (press.key === 'Escape') return 'close';
  if (isTyping(press.target)) return null;
  // Enter on a button or link activates that control; on the list it opens the incident.
  const tag = (press.target as KeyTarget | null | undefined)?.tagName;
  if (press.key === 'Enter' && (tag === 'BUTTON' || tag === 'A')) return null;
  return BY_KEY.get(press.key) ?? null;
}
