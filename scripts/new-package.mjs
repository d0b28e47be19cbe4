#!/usr/bin/env node
// Writes the standard files of a workspace package (package.json, tsconfigs, vitest config).
// Usage: node scripts/new-package.mjs <dir> <name> "<description>"
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const [dir, name, description] = process.argv.slice(2);
if (!dir || !name) throw new Error('usage: new-package.mjs <dir> <name> "<description>"');
const up = relative(dir, '.') || '.';
mkdirSync(join(dir, 'src'), { recursive: true });
const write = (file, text) => {
  if (!existsSync(join(dir, file))) writeFileSync(join(dir, file), text);
};
write('package.json', JSON.stringify({
  name,
  version: '0.0.0',
  description,
  license: 'Apache-2.0',
  type: 'module',
  engines: { node: '>=20.6' },
  sideEffects: false,
  exports: {
    '.': { '@abtel/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' },
    './package.json': './package.json',
  },
  files: ['dist', 'src', '!src/**/*.test.ts'],
  scripts: {
    build: 'tsc -p tsconfig.build.json',
    typecheck: 'tsc -p tsconfig.json --noEmit',
    lint: 'dpdm --no-warning --no-tree -T --exit-code circular:1 src/index.ts',
    test: 'vitest run',
  },
  dependencies: {},
  devDependencies: { '@types/node': 'catalog:', dpdm: 'catalog:', typescript: 'catalog:', vitest: 'catalog:' },
}, null, 2) + '\n');
write('tsconfig.json', JSON.stringify({
  extends: `${up}/tsconfig.base.json`,
  compilerOptions: { noEmit: true },
  include: ['src', 'test', 'bench', 'vitest.config.ts'],
}, null, 2) + '\n');
write('tsconfig.build.json', JSON.stringify({
  extends: `${up}/tsconfig.base.json`,
  compilerOptions: { rootDir: 'src', outDir: 'dist', customConditions: [] },
  include: ['src'],
  exclude: ['src/**/*.test.ts', 'src/**/*.bench.ts'],
}, null, 2) + '\n');
write('vitest.config.ts', `import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '${up}/vitest.shared.js';

export default defineConfig(sharedTestConfig);
`);
write('src/index.ts', 'export {};\n');
