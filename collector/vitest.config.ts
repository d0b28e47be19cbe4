import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '../vitest.shared.js';

// OpenTelemetry packages map the `module` export condition to an ESM build with extension-less
// imports that Node cannot load; resolve them as Node does (no `module` condition).
const conditions = ['@abtel/source', 'node', 'import', 'default'];

export default defineConfig({
  ...sharedTestConfig,
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['node', 'import', 'default'] } },
});
