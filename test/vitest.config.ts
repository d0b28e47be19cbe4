import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '../vitest.shared.js';

export default defineConfig({
  ...sharedTestConfig,
  test: { ...sharedTestConfig.test, include: ['e2e/**/*.test.ts'], testTimeout: 180_000, fileParallelism: false },
});
