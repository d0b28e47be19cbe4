/**
 * Distribution functions from stdlib (https://stdlib.io), re-exported under short names so the
 * rest of the package never hand-writes a special function. They are loaded through one CommonJS
 * module, ./stdlib.cjs, which the build replaces by a single bundled file (see that file for why).
 */
import { createRequire } from 'node:module';

/** The stdlib functions of ./stdlib.cjs, with stdlib's signatures. */
interface Stdlib {
  normalCdf(x: number, mu: number, sigma: number): number;
  normalQuantile(p: number, mu: number, sigma: number): number;
  normalPdf(x: number, mu: number, sigma: number): number;
  tCdf(x: number, df: number): number;
  tQuantile(p: number, df: number): number;
  gammainc(x: number, s: number, regularized: boolean, upper: boolean): number;
  betaCdf(x: number, alpha: number, beta: number): number;
  betaPdf(x: number, alpha: number, beta: number): number;
  binomialCdf(k: number, n: number, p: number): number;
  binomialPmf(k: number, n: number, p: number): number;
}

const stdlib = createRequire(import.meta.url)('./stdlib.cjs') as Stdlib;

/** Standard normal CDF Φ(x). */
export const normalCdf = (x: number): number => stdlib.normalCdf(x, 0, 1);
/** Standard normal survival 1 − Φ(x), computed as Φ(−x) to keep precision in the upper tail. */
export const normalSf = (x: number): number => stdlib.normalCdf(-x, 0, 1);
/** Standard normal quantile Φ⁻¹(p). */
export const normalQuantile = (p: number): number => stdlib.normalQuantile(p, 0, 1);
/** Standard normal density φ(x). */
export const normalPdf = (x: number): number => stdlib.normalPdf(x, 0, 1);
/** Student t CDF with `df` degrees of freedom. */
export const tCdf = (x: number, df: number): number => stdlib.tCdf(x, df);
/** Student t quantile with `df` degrees of freedom. */
export const tQuantile = (p: number, df: number): number => stdlib.tQuantile(p, df);
/**
 * Chi-square survival P(X > x) with `df` degrees of freedom, as the regularised upper incomplete
 * gamma Q(df/2, x/2), so that tiny p-values (a gross SRM) keep their precision instead of 1 − CDF = 0.
 */
export const chisquareSf = (x: number, df: number): number => (x <= 0 ? 1 : stdlib.gammainc(x / 2, df / 2, true, true));
/** Beta(a, b) CDF. */
export const betaCdf = (x: number, a: number, b: number): number => stdlib.betaCdf(x, a, b);
/** Beta(a, b) density. */
export const betaPdf = (x: number, a: number, b: number): number => stdlib.betaPdf(x, a, b);
/** Binomial(n, p) CDF P(X ≤ k). */
export const binomialCdf = (k: number, n: number, p: number): number => stdlib.binomialCdf(k, n, p);
/** Binomial(n, p) mass P(X = k). */
export const binomialPmf = (k: number, n: number, p: number): number => stdlib.binomialPmf(k, n, p);
