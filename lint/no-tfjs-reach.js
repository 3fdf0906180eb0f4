// ESLint rule: a module may not reach tfjs, directly or through what it imports. Type
// imports count too: the page's vocabulary (phases, events, settings, value sets)
// lives in tfjs-free modules, so that the page's main chunk never pulls in the engine.
// Follows relative imports (.ts, .tsx, index.ts; x.js names x.ts) with TypeScript's
// own import scanner.
import { readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

const TFJS = /^@tensorflow\//;

/** file -> { mtime, specs }: the import specifiers of each file read so far */
const scanned = new Map();

function specifiers(file) {
  const mtime = statSync(file).mtimeMs;
  const hit = scanned.get(file);
  if (hit && hit.mtime === mtime) return hit.specs;
  const specs = ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
  scanned.set(file, { mtime, specs });
  return specs;
}

function isFile(p) {
  try { return statSync(p).isFile(); } catch { return false; }
}

/** The file a relative specifier names, or null (a package, an asset, a `?url` import).
 * As tsc and Vite do, `x.js` (or `.jsx`) names `x.ts` or `x.tsx`. */
function resolveLocal(from, spec) {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.jsx?$/, '');
  return [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${stem}.ts`, `${stem}.tsx`]
    .find((p) => /\.tsx?$/.test(p) && isFile(p)) ?? null;
}

/** The chain of imports from `start` to a tfjs package, or null: breadth first, so the shortest. */
function chainToTfjs(start) {
  const parent = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const file = queue.shift();
    for (const spec of specifiers(file)) {
      if (TFJS.test(spec)) {
        const chain = [spec];
        for (let f = file; f !== null; f = parent.get(f)) chain.unshift(relative(process.cwd(), f));
        return chain;
      }
      const next = resolveLocal(file, spec);
      if (next && !parent.has(next)) {
        parent.set(next, file);
        queue.push(next);
      }
    }
  }
  return null;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'forbid imports that reach tfjs, directly or through other modules (type imports included)' },
    schema: [],
    messages: {
      direct: 'this module may not import tfjs ("{{spec}}"): it runs in the page; the engine runs in the worker',
      reaches: '"{{spec}}" reaches tfjs ({{chain}}): import its vocabulary from a tfjs-free module (events, policy, live, config) or ask the worker',
    },
  },
  create(context) {
    const check = (node, spec) => {
      if (typeof spec !== 'string') return;
      if (TFJS.test(spec)) return context.report({ node, messageId: 'direct', data: { spec } });
      const target = resolveLocal(context.filename, spec);
      const chain = target && chainToTfjs(target);
      if (chain) context.report({ node, messageId: 'reaches', data: { spec, chain: chain.join(' -> ') } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};
