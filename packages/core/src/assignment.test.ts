import { describe, expect, it } from 'vitest';
import { assign, bucketOf, matchesCondition, matchesTargeting, variationForBucket, type Condition } from './index.js';
import { definition } from './testing/definitions.js';

// Upper 0.1% points of the chi-square distribution, from scipy.stats.chi2.ppf(0.999, df)
// (scipy 1.x): a statistic below the value means p > 0.001.
const CHI2_CRITICAL_0_001: Record<number, number> = {
  1: 10.827566170662733,
  2: 13.815510557964274,
  4: 18.46682695290317,
  8: 26.12448155837614,
};

const N = 1_000_000;
const ids = Array.from({ length: N }, (_, i) => `conv-${i.toString(36)}-${i}`);

function goodnessOfFit(counts: number[], weights: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  return counts.reduce((stat, observed, index) => {
    const expected = (total * (weights[index] as number)) / weightSum;
    return stat + (observed - expected) ** 2 / expected;
  }, 0);
}

function countArms(weights: number[], salt = 'uniformity'): number[] {
  const def = definition({ key: salt, variations: weights.map((weight, index) => ({ key: `v${index}`, weight })), control: 'v0' });
  const counts = weights.map(() => 0);
  const keys = def.variations.map((variation) => variation.key);
  for (const id of ids) {
    const variation = assign(def, { id }).variation as string;
    counts[keys.indexOf(variation)]! += 1;
  }
  return counts;
}

describe('uniformity (chi-square on 1,000,000 ids)', () => {
  for (const weights of [
    [30, 70],
    [1, 2, 7],
    [10, 15, 20, 25, 30],
  ]) {
    it(`${weights.length} arms ${weights.join('/')}: p > 0.001`, () => {
      const counts = countArms(weights);
      const stat = goodnessOfFit(counts, weights);
      expect(stat).toBeLessThan(CHI2_CRITICAL_0_001[weights.length - 1] ?? CHI2_CRITICAL_0_001[4]!);
      // The same counts are far from a wrong split: the test has the power to fail.
      const wrong = weights.map((weight, index) => (index === 0 ? weight * 1.02 : weight));
      expect(goodnessOfFit(counts, wrong)).toBeGreaterThan(CHI2_CRITICAL_0_001[weights.length - 1] ?? 0);
    });
  }
});

describe('independence across experiments', () => {
  it('assignment in one experiment says nothing about another (contingency chi-square, p > 0.001)', () => {
    const a = definition({ key: 'exp-a', variations: [{ key: 'x', weight: 1 }, { key: 'y', weight: 1 }, { key: 'z', weight: 1 }], control: 'x' });
    const b = definition({ key: 'exp-b', variations: [{ key: 'p', weight: 1 }, { key: 'q', weight: 1 }, { key: 'r', weight: 1 }, { key: 's', weight: 1 }, { key: 't', weight: 1 }], control: 'p' });
    const table = [0, 1, 2].map(() => [0, 0, 0, 0, 0]);
    const aKeys = ['x', 'y', 'z'];
    const bKeys = ['p', 'q', 'r', 's', 't'];
    for (const id of ids) {
      table[aKeys.indexOf(assign(a, { id }).variation as string)]![bKeys.indexOf(assign(b, { id }).variation as string)]! += 1;
    }
    const rows = table.map((row) => row.reduce((x, y) => x + y, 0));
    const cols = bKeys.map((_, j) => table.reduce((sum, row) => sum + row[j]!, 0));
    let stat = 0;
    table.forEach((row, i) =>
      row.forEach((observed, j) => {
        const expected = (rows[i]! * cols[j]!) / N;
        stat += (observed - expected) ** 2 / expected;
      }),
    );
    expect(stat).toBeLessThan(CHI2_CRITICAL_0_001[8]!);
  });

  it('the same salt in two experiments fully correlates them (why each experiment has its own)', () => {
    const a = definition({ key: 'exp-a', salt: 'shared' });
    const b = definition({ key: 'exp-b', salt: 'shared' });
    expect(ids.slice(0, 1000).every((id) => assign(a, { id }).variation === assign(b, { id }).variation)).toBe(true);
  });
});

describe('weights', () => {
  it('1/1 and 50/50 assign every unit identically, and 1/3 equals 25/75', () => {
    const ones = definition({ variations: [{ key: 'neutral', weight: 1 }, { key: 'warm', weight: 1 }] });
    const fifties = definition({ variations: [{ key: 'neutral', weight: 50 }, { key: 'warm', weight: 50 }] });
    const thirds = definition({ variations: [{ key: 'neutral', weight: 1 }, { key: 'warm', weight: 3 }] });
    const quarters = definition({ variations: [{ key: 'neutral', weight: 25 }, { key: 'warm', weight: 75 }] });
    for (const id of ids.slice(0, 200_000)) {
      if (assign(ones, { id }).variation !== assign(fifties, { id }).variation) throw new Error(`1/1 and 50/50 differ for ${id}`);
      if (assign(thirds, { id }).variation !== assign(quarters, { id }).variation) throw new Error(`1/3 and 25/75 differ for ${id}`);
    }
  });

  it('variationForBucket follows cumulative normalised weights', () => {
    const def = definition({ variations: [{ key: 'neutral', weight: 1 }, { key: 'warm', weight: 3 }] });
    expect(variationForBucket(def, 0)).toBe('neutral');
    expect(variationForBucket(def, 0.2499999)).toBe('neutral');
    expect(variationForBucket(def, 0.25)).toBe('warm');
    expect(variationForBucket(def, 0.9999999)).toBe('warm');
  });

  it('the bucket is bucketOf(salt, id) and the reason is "assigned"', () => {
    const def = definition({ salt: 'custom-salt' });
    const result = assign(def, { id: 'conv-1' });
    expect(result).toEqual({ experiment: 'support-persona', variation: variationForBucket(def, bucketOf('custom-salt', 'conv-1')), inExperiment: true, bucket: bucketOf('custom-salt', 'conv-1'), reason: 'assigned' });
  });
});

describe('layers', () => {
  it("a layer's experiments never share a unit, and together they cover the layer", () => {
    const a = definition({ key: 'tone', layer: { name: 'support-bot', range: [0, 0.3] } });
    const b = definition({ key: 'retrieval', layer: { name: 'support-bot', range: [0.3, 0.8] } });
    const c = definition({ key: 'tools', layer: { name: 'support-bot', range: [0.8, 1] } });
    const inCounts = [0, 0, 0];
    for (const id of ids.slice(0, 300_000)) {
      const memberships = [a, b, c].map((def) => assign(def, { id }).inExperiment);
      const count = memberships.filter(Boolean).length;
      if (count !== 1) throw new Error(`${id} is in ${count} experiments of the layer`);
      memberships.forEach((member, index) => (inCounts[index]! += member ? 1 : 0));
    }
    expect(goodnessOfFit(inCounts, [0.3, 0.5, 0.2])).toBeLessThan(CHI2_CRITICAL_0_001[2]!);
    expect(assign(a, { id: ids.find((id) => !assign(a, { id }).inExperiment)! }).reason).toBe('outside_layer');
  });
});

describe('coverage', () => {
  it('enrols the covered share of each arm, and ramping never moves an enrolled unit to another arm', () => {
    const sample = ids.slice(0, 200_000);
    const at = (coverage: number) => definition({ coverage, variations: [{ key: 'neutral', weight: 1 }, { key: 'warm', weight: 3 }] });
    const [tenDef, fiftyDef] = [at(0.1), at(0.5)];
    const ten = sample.map((id) => assign(tenDef, { id }));
    const fifty = sample.map((id) => assign(fiftyDef, { id }));
    const enrolled = ten.filter((result) => result.inExperiment).length / sample.length;
    expect(enrolled).toBeGreaterThan(0.095);
    expect(enrolled).toBeLessThan(0.105);
    ten.forEach((result, index) => {
      if (result.inExperiment && fifty[index]!.variation !== result.variation) throw new Error('ramp moved a unit');
    });
    expect(ten.find((result) => !result.inExperiment)?.reason).toBe('outside_coverage');
    const counts = [0, 0];
    for (const result of ten) if (result.inExperiment) counts[result.variation === 'neutral' ? 0 : 1]! += 1;
    expect(goodnessOfFit(counts, [1, 3])).toBeLessThan(CHI2_CRITICAL_0_001[1]!);
  });

  it('coverage 0 enrols nobody; a state other than running enrols nobody', () => {
    expect(ids.slice(0, 1000).some((id) => assign(definition({ coverage: 0 }), { id }).inExperiment)).toBe(false);
    expect(assign(definition({ state: 'paused' }), { id: 'conv-1' })).toMatchObject({ inExperiment: false, variation: null, reason: 'not_running' });
  });
});

describe('targeting', () => {
  const cases: [Condition, string | number | boolean | undefined, boolean][] = [
    [{ attribute: 'plan', equals: 'pro' }, 'pro', true],
    [{ attribute: 'plan', equals: 'pro' }, 'free', false],
    [{ attribute: 'plan', equals: 'pro' }, undefined, false],
    [{ attribute: 'beta', equals: true }, 'true', true],
    [{ attribute: 'plan', in: ['pro', 'enterprise'] }, 'enterprise', true],
    [{ attribute: 'plan', in: ['pro', 'enterprise'] }, 'free', false],
    [{ attribute: 'country', not_in: ['FR', 'DE'] }, 'US', true],
    [{ attribute: 'country', not_in: ['FR', 'DE'] }, 'FR', false],
    [{ attribute: 'country', not_in: ['FR', 'DE'] }, undefined, true],
    [{ attribute: 'seats', range: { min: 10, max: 50 } }, 10, true],
    [{ attribute: 'seats', range: { min: 10, max: 50 } }, 50, true],
    [{ attribute: 'seats', range: { min: 10, max: 50 } }, '25', true],
    [{ attribute: 'seats', range: { min: 10, max: 50 } }, 51, false],
    [{ attribute: 'seats', range: { min: 10 } }, 'many', false],
    // Decimal text only: Number() would read these as 16, 3 and 8.
    [{ attribute: 'seats', range: { min: 10 } }, '0x10', false],
    [{ attribute: 'seats', range: { min: 1 } }, '0b11', false],
    [{ attribute: 'seats', range: { min: 1 } }, '0o10', false],
    [{ attribute: 'seats', range: { min: 100 } }, '1e2', true],
    [{ attribute: 'seats', range: { min: -2 } }, ' -1.5 ', true],
    [{ attribute: 'seats', range: { max: 5 } }, undefined, false],
    [{ attribute: 'email', exists: true }, 'a@b.c', true],
    [{ attribute: 'email', exists: true }, undefined, false],
    [{ attribute: 'email', exists: false }, undefined, true],
    [{ attribute: 'email', exists: false }, 'a@b.c', false],
  ];
  it.each(cases)('%j on %j → %s', (condition, value, expected) => {
    expect(matchesCondition(condition, value)).toBe(expected);
  });

  it('all requires every condition, any at least one', () => {
    const targeting = {
      all: [{ attribute: 'locale', equals: 'en' }],
      any: [
        { attribute: 'plan', equals: 'pro' },
        { attribute: 'seats', range: { min: 100 } },
      ],
    };
    expect(matchesTargeting(targeting, { locale: 'en', plan: 'pro' })).toBe(true);
    expect(matchesTargeting(targeting, { locale: 'en', plan: 'free', seats: 500 })).toBe(true);
    expect(matchesTargeting(targeting, { locale: 'en', plan: 'free', seats: 5 })).toBe(false);
    expect(matchesTargeting(targeting, { locale: 'de', plan: 'pro' })).toBe(false);
    expect(matchesTargeting({}, undefined)).toBe(true);
  });

  it('reads only the attributes the unit has, not inherited object properties', () => {
    expect(matchesTargeting({ all: [{ attribute: 'constructor', exists: true }] }, {})).toBe(false);
    expect(matchesTargeting({ all: [{ attribute: 'toString', exists: false }] }, {})).toBe(true);
    expect(matchesTargeting({ any: [{ attribute: 'hasOwnProperty', exists: true }] }, { plan: 'pro' })).toBe(false);
    expect(matchesTargeting({ all: [{ attribute: 'constructor', equals: 'x' }] }, { constructor: 'x' } as never)).toBe(true);
  });

  it('a unit outside targeting is not in the experiment', () => {
    const def = definition({ targeting: { all: [{ attribute: 'plan', in: ['pro'] }] } });
    expect(assign(def, { id: 'conv-1', attributes: { plan: 'free' } })).toMatchObject({ inExperiment: false, variation: null, reason: 'not_targeted' });
    expect(assign(def, { id: 'conv-1', attributes: { plan: 'pro' } })).toMatchObject({ inExperiment: true, reason: 'assigned' });
  });
});
