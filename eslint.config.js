// @ts-check
const tseslint = require('typescript-eslint');

/** One-way imports (DESIGN.md): protocol <- machines <- actors <- connection <- supervisor/server <- index. */
const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

module.exports = tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'bench/', 'bin/', 'test-output/', '*.config.js'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Plain CommonJS scripts (test fixtures run as child processes).
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/protocol/**/*.ts'],
    rules: restrict([{ regex: '^(?!\\./)', message: 'src/protocol is the leaf vocabulary: it imports nothing but itself.' }]),
  },
  {
    files: ['machines/**/*.ts'],
    rules: restrict([
      { regex: '^(?!xstate$|\\.)', message: 'machines import xstate and src/protocol only: no ws, rxjs or node built-ins.' },
      { regex: '/src/(?!protocol/)', message: 'machines import src/protocol only.' },
    ]),
  },
  {
    files: ['src/actors/**/*.ts'],
    rules: restrict([{ regex: '^\\.\\./(server|cli|index|protocols)$', message: 'actors sit below the server: they must not import it.' }]),
  },
  {
    files: ['src/diagram/**/*.ts'],
    rules: restrict([{ regex: '^(?!xstate$)', message: 'the diagram generator works on any machine: it imports xstate only.' }]),
  },
);
