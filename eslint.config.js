// Lint: eslint's and typescript-eslint's recommended rules, React hooks rules for the
// UI, and the layers' boundaries as rules (tested in test/unit/boundaries.test.ts):
// the page never reaches tfjs, the engine knows no worker, page or React, and the
// policy imports nothing.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import noTfjsReach from './lint/no-tfjs-reach.js';

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
    }))],
  };
}

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
    rules: importBans(
      // the packages and their subpaths ('react-dom/client', 'zustand/vanilla')
      { regex: '^(react|react-dom|zustand|recharts)(/|$)', message: 'the engine knows nothing of React or the page' },
      { regex: '(^|/)(ui|worker)(/|$)', message: 'the engine knows nothing of the worker or the page: they import it, not the other way' },
    ),
  },
  {
    // the policy is pure functions over plain numbers, table-tested
    files: ['src/engine/policy.ts'],
    rules: {
      'no-restricted-syntax': ['error',
        ...['ImportDeclaration', 'ImportExpression', 'ExportAllDeclaration', 'ExportNamedDeclaration[source]'].map((selector) => ({
          selector, message: 'policy.ts imports nothing: it is pure functions over plain numbers (declare its value sets here)',
        }))],
    },
  },
);
