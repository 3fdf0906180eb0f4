// The worker's boundary: each message is checked against the command schemas before
// anything acts on it. A bad one becomes one line that names the command, the field
// and what was expected; keys that could reach a prototype are refused outright.
import * as v from 'valibot';
import { COMMAND_SCHEMAS, COMMAND_TYPES, type Command, type CommandType } from './protocol';

const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The dotted path of the first own key, at any depth, that names a prototype, e.g. `update.__proto__`. */
function prototypeKey(value: unknown, path: string[] = []): string | null {
  if (value === null || typeof value !== 'object' || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return null;
  for (const key of Object.keys(value)) {
    const here = [...path, key];
    if (PROTOTYPE_KEYS.has(key)) return here.join('.');
    const inner = prototypeKey((value as Record<string, unknown>)[key], here);
    if (inner) return inner;
  }
  return null;
}

const shown = (x: unknown) => (typeof x === 'string' ? JSON.stringify(x.slice(0, 40)) : x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x);

function issueText(issue: v.BaseIssue<unknown>): string {
  const path = v.getDotPath(issue) ?? '(the message)';
  if (issue.kind === 'schema' && issue.expected === 'never') return `${path}: not a field of this command`;
  if (issue.received === 'undefined') return `${path}: missing`;
  return `${path}: expected ${issue.expected} (got ${issue.received})`;
}

export type Checked = { command: Command; error: null } | { command: null; error: string };

const refuse = (error: string): Checked => ({ command: null, error });

/** What a message says, or why the worker will not act on it. */
export function checkCommand(raw: unknown): Checked {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return refuse(`a message to the worker is an object with a "type" (got ${shown(raw)})`);
  }
  const type = (raw as { type?: unknown }).type;
  if (type === undefined) return refuse(`a message to the worker needs a "type": one of ${COMMAND_TYPES.join(', ')}`);
  if (typeof type !== 'string' || !Object.hasOwn(COMMAND_SCHEMAS, type)) {
    return refuse(`unknown command ${shown(type)}: the worker takes ${COMMAND_TYPES.join(', ')}`);
  }
  const hostile = prototypeKey(raw);
  if (hostile) return refuse(`${type}: "${hostile}" is refused: no message has it, and it could reach an object's prototype`);
  const result = v.safeParse(COMMAND_SCHEMAS[type as CommandType], raw);
  if (!result.success) return refuse(`${type}: ${result.issues.slice(0, 5).map(issueText).join('; ')}`);
  return { command: result.output as Command, error: null };
}
