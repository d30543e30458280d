// ESLint flat config: the JavaScript half of the lint gate (scripts/lint.sh; `npm run lint`).
// The package is CommonJS on Node; the test suites run under mocha; the Node-RED editor code
// is the <script type="text/javascript"> part of nodes/*.html (eslint-plugin-html extracts it),
// which runs in the browser with the editor's RED and jQuery globals.
import js from '@eslint/js';
import globals from 'globals';
import html from 'eslint-plugin-html';

// Rules beyond eslint:recommended: each one catches a real mistake or keeps one way of
// writing the same thing, and none fights the code's layout.
const strict = {
  'array-callback-return': 'error',
  curly: ['error', 'multi-line'],
  'default-case-last': 'error',
  'dot-notation': 'error',
  eqeqeq: ['error', 'always', { null: 'ignore' }],
  'guard-for-in': 'error',
  'no-caller': 'error',
  'no-constructor-return': 'error',
  'no-eval': 'error',
  'no-extend-native': 'error',
  'no-implied-eval': 'error',
  'no-lonely-if': 'error',
  'no-new-func': 'error',
  'no-new-wrappers': 'error',
  'no-proto': 'error',
  'no-self-compare': 'error',
  'no-shadow': ['error', { hoist: 'never' }],
  'no-template-curly-in-string': 'error',
  'no-throw-literal': 'error',
  'no-unmodified-loop-condition': 'error',
  'no-unneeded-ternary': 'error',
  'no-unreachable-loop': 'error',
  'no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
  'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
  // Only a use in the same scope before the declaration (a temporal-dead-zone error); a closure
  // that names a later const is fine.
  'no-use-before-define': ['error', { functions: false, classes: false, variables: false }],
  'no-useless-call': 'error',
  'no-useless-computed-key': 'error',
  'no-useless-concat': 'error',
  'no-useless-rename': 'error',
  'no-useless-return': 'error',
  'no-var': 'error',
  'object-shorthand': ['error', 'properties'],
  'prefer-const': ['error', { destructuring: 'all' }],
  'prefer-promise-reject-errors': 'error',
  radix: 'error',
  strict: ['error', 'safe'],
  yoda: 'error',
};

export default [
  {
    ignores: [
      'node_modules/**', 'build/**', 'build-*/**', '.runtimes/**', '.demo/**', 'test-output/**',
      'prebuilds/**', '.prebuild-work/**', '**/*.d.ts', '**/*.ts',
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'commonjs',
      globals: { ...globals.node },
    },
    rules: strict,
  },
  {
    files: ['eslint.config.mjs'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    rules: strict,
  },
  {
    files: ['test/**/*.js'],
    languageOptions: { globals: { ...globals.mocha } },
  },
  {
    // Playwright runs some of these functions inside the page (page.evaluate, waitForFunction),
    // where the editor's RED and jQuery are globals.
    files: ['test/e2e/**/*.js'],
    languageOptions: { globals: { ...globals.browser, ...globals.jquery, RED: 'readonly' } },
  },
  {
    // The editor's shared script (served at /resources/fieldlink/): it defines FieldLink.
    files: ['resources/*.js'],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: 'script',
      globals: { ...globals.browser, ...globals.jquery, RED: 'readonly' },
    },
    rules: { ...strict, strict: 'off' },
  },
  {
    files: ['nodes/*.html'],
    plugins: { html },
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: 'script',
      globals: { ...globals.browser, ...globals.jquery, RED: 'readonly', FieldLink: 'readonly' },
    },
    rules: { ...strict, strict: 'off' },
  },
];
