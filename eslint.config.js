// Lint: eslint's and typescript-eslint's recommended rules, React hooks rules for the
// UI, and the layers' boundaries as rules (tested in test/unit/boundaries.test.ts):
// the page never reaches tfjs, the engine knows no worker, page, React or CLI (and
// Node only in its Node set-up), the worker and the CLIs know no page, and the policy
// imports nothing.
import js from '@eslint/js';
import { builtinModules } from 'node:module';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import noTfjsReach from './lint/no-tfjs-reach.js';

/**
 * `Math.min(...xs)` / `Math.max(...xs)` pass every element as an argument: past about
 * 125,000 (a run log's phase events, a deep config's module ids) V8 threw "Maximum call
 * stack size exceeded" and `npm run explore` died with a stack trace. In every source
 * file, beside each set of bans below (a later no-restricted-syntax replaces an earlier).
 */
const SPREAD_BAN = {
  selector: "CallExpression[callee.object.name='Math'][callee.property.name=/^(min|max)$/] > SpreadElement",
  message: 'Math.min/max over a spread overflows the call stack on a long list: maxOf/minOf (src/engine/extremes.ts) loop instead',
};

/**
 * Import bans, each a regex on the specifier and why: static imports to
 * no-restricted-imports, `import('...')` and type `import('...').T` to
 * no-restricted-syntax, as no-restricted-imports does not look at them.
 */
function importBans(...bans) {
  return {
    'no-restricted-imports': ['error', { patterns: bans }],
    'no-restricted-syntax': ['error', ...bans.map(({ regex, message }) => ({
      selector: `:matches(ImportExpression, TSImportType)[source.value=/${regex.replaceAll('/', '\\/')}/]`, message,
    })), {
      // import(`../cli/args`) passed: the bans read a string's value only
      selector: "ImportExpression[source.type!='Literal']", message: "a dynamic import names its module as a plain string here, so that these bans can read it",
    }, SPREAD_BAN],
  };
}

// what the engine may not import, anywhere in it
const ENGINE_BANS = [
  // the packages and their subpaths ('react-dom/client', 'zustand/vanilla')
  { regex: '^(react|react-dom|zustand|recharts)(/|$)', message: 'the engine knows nothing of React or the page' },
  { regex: '(^|/)(ui|worker)(/|$)', message: 'the engine knows nothing of the worker or the page: they import it, not the other way' },
  { regex: '(^|/)cli(/|$)', message: 'the engine knows nothing of the CLIs: they import it, not the other way' },
];
// Node's own modules, with or without `node:`
const NODE_BUILTINS = `^(node:|(${builtinModules.filter((m) => !m.startsWith('node:')).join('|')})(/|$))`;

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test/artifacts/', 'bench/gpu/carry/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    rules: { 'no-restricted-syntax': ['error', SPREAD_BAN] },
  },
  {
    files: ['src/ui/**/*.tsx', 'src/ui/**/*.ts'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  {
    // the page: its main chunk must not load the engine (the worker runs it)
    files: ['src/ui/**/*.{ts,tsx}', 'src/worker/client.ts', 'src/worker/protocol.ts'],
    plugins: { boundaries: { rules: { 'no-tfjs-reach': noTfjsReach } } },
    rules: { 'boundaries/no-tfjs-reach': 'error' },
  },
  {
    // the engine runs the same in the worker, in Node and in tests
    files: ['src/engine/**/*.{ts,tsx}'],
    rules: importBans(...ENGINE_BANS,
      { regex: NODE_BUILTINS, message: "the engine runs in the browser too: Node's modules only in backend-node.ts" }),
  },
  {
    // the engine's Node set-up, the one engine file that may import Node's modules
    files: ['src/engine/backend-node.ts'],
    rules: importBans(...ENGINE_BANS),
  },
  {
    // the worker hosts the engine in the browser: the page talks to it by messages
    files: ['src/worker/**/*.{ts,tsx}'],
    rules: importBans(
      { regex: '(^|/)ui(/|$)', message: 'the worker knows nothing of the page: the page imports its client and protocol, not the other way' },
      { regex: '(^|/)cli(/|$)', message: 'the worker knows nothing of the CLIs: it runs in the browser, they in Node' },
    ),
  },
  {
    // the CLIs run the engine in Node, with no page
    files: ['src/cli/**/*.{ts,tsx}'],
    rules: importBans({ regex: '(^|/)ui(/|$)', message: 'the CLIs know nothing of the page: they run the engine in Node' }),
  },
  {
    // the policy is pure functions over plain numbers, table-tested
    files: ['src/engine/policy.ts'],
    rules: {
      'no-restricted-syntax': ['error',
        // TSImportType: a type's `import('./config').RunConfig`
        ...['ImportDeclaration', 'ImportExpression', 'TSImportType', 'ExportAllDeclaration', 'ExportNamedDeclaration[source]'].map((selector) => ({
          selector, message: 'policy.ts imports nothing: it is pure functions over plain numbers (declare its value sets here)',
        })), SPREAD_BAN],
    },
  },
);
