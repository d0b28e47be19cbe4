import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The build bundles src/internal/stdlib.cjs into dist/internal/stdlib.cjs; the published package
// runs the bundle, the tests run the sources. Both must be the same functions.
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
type Fn = (...args: (number | boolean)[]) => number;

const cases: [string, (number | boolean)[]][] = [
  ['normalCdf', [1.96, 0, 1]],
  ['normalCdf', [-8.5, 0, 1]],
  ['normalQuantile', [0.975, 0, 1]],
  ['normalPdf', [0.3, 0, 1]],
  ['tCdf', [2.1, 7.5]],
  ['tQuantile', [0.975, 12]],
  ['gammainc', [11.3, 2, true, true]],
  ['betaCdf', [0.42, 31, 70]],
  ['betaPdf', [0.42, 31, 70]],
  ['binomialCdf', [12, 40, 0.3]],
  ['binomialPmf', [12, 40, 0.3]],
];

describe('the bundled stdlib functions', () => {
  it('give exactly the values of the packages they bundle', () => {
    const bundlePath = join(root, 'dist/internal/stdlib.cjs');
    // The bundle is made by the build (turbo runs it before the tests); make it when run alone.
    try {
      require.resolve(bundlePath);
    } catch {
      execFileSync(process.execPath, [join(root, 'scripts/bundle-stdlib.mjs')], { stdio: 'ignore' });
    }
    const bundled = require(bundlePath) as Record<string, Fn>;
    const source = require(join(root, 'src/internal/stdlib.cjs')) as Record<string, Fn>;
    expect(Object.keys(bundled).sort()).toEqual(Object.keys(source).sort());
    for (const [name, args] of cases) {
      const value = bundled[name]!(...args);
      expect(Number.isFinite(value), `${name}(${args.join(', ')})`).toBe(true);
      expect(value, `${name}(${args.join(', ')})`).toBe(source[name]!(...args));
    }
    // And one published value, so a bundle of the wrong functions cannot pass: Φ(1.96) = 0.9750021048517795.
    expect(bundled.normalCdf!(1.96, 0, 1)).toBeCloseTo(0.9750021048517795, 15);
  });
});
