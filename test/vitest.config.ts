import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '../vitest.shared.js';

// OpenTelemetry packages map the `module` export condition to an ESM build with extension-less
// imports that Node cannot load; resolve them as Node does (no `module` condition).
const conditions = ['@abtel/source', 'node', 'import', 'default'];

// End-to-end tests start real processes and servers: one file at a time, generous timeouts.
export default defineConfig({
  ...sharedTestConfig,
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['node', 'import', 'default'] } },
  test: { ...sharedTestConfig.test, include: ['e2e/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 120_000, fileParallelism: false },
});
