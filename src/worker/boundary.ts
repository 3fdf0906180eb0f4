// The worker's boundary: each message is checked against the command schemas before
// anything acts on it. A bad one becomes one line that names the command, the field
// and what was expected; keys that could reach a prototype are refused outright.
import * as v from 'valibot';
import { COMMAND_SCHEMAS, COMMAND_TYPES, type Command, type CommandType } from './protocol';

const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Levels of nesting a message may have: a command's deepest field (a config's) is 3 down; far more is no command. */
export const MAX_MESSAGE_DEPTH = 32;

/**
 * What is wrong with a message's shape, at any depth, before its schema is read: a key
 * that names a prototype (e.g. `update.__proto__`), or nesting past MAX_MESSAGE_DEPTH.
 * Walked with a stack and each object once (structured clone delivers cycles, and one
 * object in many places), so no message can overflow the call stack (one nested 100,000
 * deep did, and `receive` rejected instead of answering) or make the walk endless; the
 * schemas then read a finite depth.
 */
function shapeProblem(raw: object): string | null {
  const seen = new Set<object>();
  const stack: { value: unknown; path: string[] }[] = [{ value: raw, path: [] }];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (value === null || typeof value !== 'object' || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) continue;
    if (seen.has(value)) continue; // checked where first met (a cycle, or one object in two places)
    if (path.length > MAX_MESSAGE_DEPTH) return `"${path.slice(0, 3).join('.')}..." nests more than ${MAX_MESSAGE_DEPTH} levels: no message does`;
    seen.add(value);
    for (const key of Object.keys(value)) {
      const here = [...path, key];
      if (PROTOTYPE_KEYS.has(key)) return `"${here.join('.')}" is refused: no message has it, and it could reach an object's prototype`;
      stack.push({ value: (value as Record<string, unknown>)[key], path: here });
    }
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
  const problem = shapeProblem(raw);
  if (problem) return refuse(`${type}: ${problem}`);
  const result = v.safeParse(COMMAND_SCHEMAS[type as CommandType], raw);
  if (!result.success) return refuse(`${type}: ${result.issues.slice(0, 5).map(issueText).join('; ')}`);
  return { command: result.output as Command, error: null };
}
