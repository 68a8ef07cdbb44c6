// Type-aware linting: floating promises and misused promises are errors, since a
// forgotten await in a collector silently loses evidence. The layers of src/ are
// enforced here too (docs/architecture.md): an import that runs against them fails
// `npm run lint`.
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

// Each layer of src/ and the layers it may import, lowest first. Every layer may also
// import the shared base: src/config.ts, src/errors.ts, src/logger.ts.
const layers = {
  store: [],
  collectors: ['store'],
  correlation: ['store'],
  reports: ['store', 'correlation'],
  emulators: [],
  doctor: ['store', 'collectors'],
  jobs: ['store', 'collectors', 'correlation', 'reports'],
  api: ['store', 'collectors', 'correlation', 'reports', 'jobs'],
  console: ['store', 'collectors', 'correlation', 'reports', 'jobs', 'api'],
  demo: ['store', 'collectors', 'correlation', 'reports', 'jobs', 'api', 'console', 'emulators'],
  cli: ['store', 'collectors', 'correlation', 'reports', 'jobs', 'api', 'console', 'demo', 'emulators', 'doctor'],
};

function layerRules() {
  return Object.entries(layers).map(([layer, allowed]) => {
    const forbidden = Object.keys(layers).filter((other) => other !== layer && !allowed.includes(other));
    return {
      files: [`src/${layer}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                regex: `^(\\.\\./)+(${forbidden.join('|')})(/|$)`,
                message: `src/${layer} may import only ${allowed.length ? allowed.map((name) => `src/${name}`).join(', ') : 'nothing of the other layers'} (and config, errors, logger): see docs/architecture.md`,
              },
            ],
          },
        ],
      },
    };
  });
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'bin/**', '.accesstrail/**', 'bench/out/**', 'eslint.config.js'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      // One import order everywhere (packages, then our modules by path), fixed by `eslint --fix`.
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layerRules(),
);
