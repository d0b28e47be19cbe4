/**
 * How big the demo is by default, and why.
 *
 * The primary metric of `support-retrieval` is the resolution rate, with a 55% baseline and an
 * injected effect of +15 points (simulation.ts). The sample size for a two-sided test at
 * α = 0.05 with power 0.9 (normal approximation, pooled variance under H0, unpooled under H1):
 *
 *   $ abtel power --baseline 0.55 --mde 0.15 --power 0.9
 *   n per arm = (1.95996·√(2·0.625·0.375) + 1.28155·√(0.55·0.45 + 0.70·0.30))² / 0.15²
 *             = 216.8 → 217 per arm, 434 in total
 *
 * Power 0.9 rather than 0.8 (326 in total) because a demo should show the effect on most seeds,
 * not on four in five. 440 leaves room for the few conversations whose calls fail twice in a row
 * and are escalated regardless of the arm. At about two model calls per conversation and 12
 * conversations in flight the whole demo, analysis included, takes about 30 s on 2 cores.
 */
export const DEFAULT_CONVERSATIONS = 440;

/** The inputs of the calculation above, so a test can recompute it with @abtel/stats. */
export const SIZING = { baseline: 0.55, mde: 0.15, alpha: 0.05, power: 0.9, perArm: 217, total: 434 } as const;

/** Default seed: the same seed gives the same conversations, assignments, outcomes and report numbers. */
export const DEFAULT_SEED = '2026';
