// typescript-eslint's recommended rules over every TypeScript file we own.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // demo/ and test/ meet through one module each way, so neither grows into the other's internals: the demo
  // takes the local cloud and its clients from test/stack/index.ts, the e2e test runs the demo through
  // demo/index.ts.
  {
    files: ['demo/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)test/(?!stack/index\\.js$)', message: 'demo/ imports test/ only through test/stack/index.js' }] }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)demo/(?!index\\.js$)', message: 'test/ imports demo/ only through demo/index.js' }] }],
    },
  },
);
