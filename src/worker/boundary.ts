// The worker's boundary: each message is checked against the command schemas before
// anything acts on it. A bad one becomes one line that names the command, the field
// and what was expected; keys that could reach a prototype are refused outright.
import * as v from 'valibot';
import { MAX_FILES } from '../engine/data/limits';
import { printable } from '../engine/data/names';
import { QUOTED_CHARS } from '../engine/issue';
import { COMMAND_SCHEMAS, COMMAND_TYPES, type Command, type CommandType } from './protocol';

const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Items an array of a message may have: a dataset's files, at most (MAX_FILES). */
export const MAX_MESSAGE_ITEMS = MAX_FILES;


/** `text` fit to quote in a line: escaped, and cut past QUOTED_CHARS with its length. */
const quoted = (text: string) => printable(text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS)}… (${text.length} characters)` : text);

/** What the walk follows in a schema: an object's fields, an array's items, through optional and nullable. */
type Shape = { type: string; entries?: Record<string, Shape>; item?: Shape; wrapped?: Shape };

/**
 * What is wrong with a message's shape, before its schema is read: a key the command
 * does not have (its value never read: 3 million elements under one took 1 GB and 3.8 s
 * to walk before the schema refused the key), a key that names a prototype (e.g.
 * `update.__proto__`), or an array of more than MAX_MESSAGE_ITEMS. Only the schema's own
 * fields are walked, so its depth bounds the walk (a message nested 100,000 deep, or one
 * that refers to itself, ends at its first key that no command has), and a value the
 * walk stops at is read by the schema one level deep.
 */
function shapeProblem(raw: object, schema: Shape): string | null {
  const stack: { value: unknown; shape: Shape; path: string[] }[] = [{ value: raw, shape: schema, path: [] }];
  while (stack.length) {
    const top = stack.pop()!;
    const { value, path } = top;
    let { shape } = top;
    while (shape.wrapped) shape = shape.wrapped;
    if (value === null || typeof value !== 'object') continue; // the schema says what it should have been
    const at = (key: string) => [...path, quoted(key)].join('.');
    if (Array.isArray(value) && shape.item) {
      if (value.length > MAX_MESSAGE_ITEMS) return `${path.join('.')}: ${value.length} items, more than the ${MAX_MESSAGE_ITEMS} a message may have`;
      value.forEach((item: unknown, i) => stack.push({ value: item, shape: shape.item!, path: [...path, String(i)] }));
    } else if (shape.entries && !Array.isArray(value)) {
      for (const key of Object.keys(value)) {
        if (PROTOTYPE_KEYS.has(key)) return `"${at(key)}" is refused: no message has it, and it could reach an object's prototype`;
        if (!Object.hasOwn(shape.entries, key)) return `${at(key)}: not a field of this command`;
        stack.push({ value: (value as Record<string, unknown>)[key], shape: shape.entries[key]!, path: [...path, key] });
      }
    }
  }
  return null;
}

const shown = (x: unknown) => (typeof x === 'string' ? JSON.stringify(x.slice(0, QUOTED_CHARS)) : x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x);

function issueText(issue: v.BaseIssue<unknown>): string {
  const path = v.getDotPath(issue) ?? '(the message)';
  if (issue.kind === 'schema' && issue.expected === 'never') return `${path}: not a field of this command`;
  if (issue.received === 'undefined') return `${path}: missing`;
  // the schemas cap strings only (ids, names, files' names)
  if (issue.type === 'max_length') return `${path}: ${issue.received} characters, more than the ${String(issue.requirement)} it may have`;
  const got = typeof issue.input === 'string' ? `"${quoted(issue.input)}"` : quoted(issue.received);
  return `${path}: expected ${issue.expected} (got ${got})`;
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
  const problem = shapeProblem(raw, COMMAND_SCHEMAS[type as CommandType] as Shape);
  if (problem) return refuse(`${type}: ${problem}`);
  const result = v.safeParse(COMMAND_SCHEMAS[type as CommandType], raw);
  if (!result.success) return refuse(`${type}: ${result.issues.slice(0, 5).map(issueText).join('; ')}`);
  return { command: result.output as Command, error: null };
}
