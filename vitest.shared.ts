import type { ViteUserConfig } from 'vitest/config';

// Tests run on the TypeScript sources of sibling packages (the `@abtel/source` export condition),
// so a change in packages/core is seen by packages/node's tests without a rebuild.
const conditions = ['@abtel/source', 'node', 'import', 'module', 'default'];

export const sharedTestConfig: ViteUserConfig = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['node', 'import', 'default'] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
};
