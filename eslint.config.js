// Lint: typescript-eslint's recommended rules, plus the architecture's import
// boundaries (CONVENTIONS.md habit 2): client/ and server/ never import each
// other, and shared/ imports neither (its tsconfig also has no Node or DOM types).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const boundary = (forbidden, message) => ({
  'no-restricted-imports': ['error', { patterns: forbidden.map((group) => ({ group: [group], message })) }],
});

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'public/build/', 'data/', '.tmp/', 'test/bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['client/**'],
    rules: boundary(['**/server/**', 'node:*'], 'client/ runs in browsers: it never imports server/ or Node modules'),
  },
  {
    files: ['server/**'],
    rules: boundary(['**/client/**'], 'server/ never imports client/'),
  },
  {
    files: ['shared/**'],
    rules: boundary(['**/client/**', '**/server/**', 'node:*'], 'shared/ imports neither client/, server/ nor Node'),
  },
  {
    files: ['scripts/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
