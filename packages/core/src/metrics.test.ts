import { describe, expect, test } from 'vitest';
import { MetricDefinition } from './metrics.js';

describe('MetricDefinition.interval (quantile interval method)', () => {
  const p95 = { name: 'latency_p95', kind: 'quantile', quantile: 0.95, from: { span_value: 'duration_ms' }, direction: 'decrease' } as const;

  test('optional; auto and bootstrap are accepted', () => {
    expect(MetricDefinition.parse(p95).interval).toBeUndefined();
    expect(MetricDefinition.parse({ ...p95, interval: 'bootstrap' }).interval).toBe('bootstrap');
    expect(MetricDefinition.parse({ ...p95, interval: 'auto' }).interval).toBe('auto');
  });

  test('anything else is rejected with the allowed values', () => {
    const result = MetricDefinition.safeParse({ ...p95, interval: 'asymptotic-ish' });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(/auto.*bootstrap/);
  });
});
