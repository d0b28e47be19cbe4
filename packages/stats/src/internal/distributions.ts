/**
 * Distribution functions from stdlib (https://stdlib.io), re-exported under short names so the
 * rest of the package never hand-writes a special function. stdlib packages are CommonJS with
 * `export =` typings; NodeNext + esModuleInterop import them as default exports.
 */
import normalCdfImpl from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantileImpl from '@stdlib/stats-base-dists-normal-quantile';
import normalPdfImpl from '@stdlib/stats-base-dists-normal-pdf';
import tCdfImpl from '@stdlib/stats-base-dists-t-cdf';
import tQuantileImpl from '@stdlib/stats-base-dists-t-quantile';
import gammaincImpl from '@stdlib/math-base-special-gammainc';
import betaCdfImpl from '@stdlib/stats-base-dists-beta-cdf';
import betaPdfImpl from '@stdlib/stats-base-dists-beta-pdf';
import binomialCdfImpl from '@stdlib/stats-base-dists-binomial-cdf';
import binomialPmfImpl from '@stdlib/stats-base-dists-binomial-pmf';

/** Standard normal CDF Φ(x). */
export const normalCdf = (x: number): number => normalCdfImpl(x, 0, 1);
/** Standard normal survival 1 − Φ(x), computed as Φ(−x) to keep precision in the upper tail. */
export const normalSf = (x: number): number => normalCdfImpl(-x, 0, 1);
/** Standard normal quantile Φ⁻¹(p). */
export const normalQuantile = (p: number): number => normalQuantileImpl(p, 0, 1);
/** Standard normal density φ(x). */
export const normalPdf = (x: number): number => normalPdfImpl(x, 0, 1);
/** Student t CDF with `df` degrees of freedom. */
export const tCdf = (x: number, df: number): number => tCdfImpl(x, df);
/** Student t quantile with `df` degrees of freedom. */
export const tQuantile = (p: number, df: number): number => tQuantileImpl(p, df);
/**
 * Chi-square survival P(X > x) with `df` degrees of freedom, as the regularised upper incomplete
 * gamma Q(df/2, x/2), so that tiny p-values (a gross SRM) keep their precision instead of 1 − CDF = 0.
 */
export const chisquareSf = (x: number, df: number): number => (x <= 0 ? 1 : gammaincImpl(x / 2, df / 2, true, true));
/** Beta(a, b) CDF. */
export const betaCdf = (x: number, a: number, b: number): number => betaCdfImpl(x, a, b);
/** Beta(a, b) density. */
export const betaPdf = (x: number, a: number, b: number): number => betaPdfImpl(x, a, b);
/** Binomial(n, p) CDF P(X ≤ k). */
export const binomialCdf = (k: number, n: number, p: number): number => binomialCdfImpl(k, n, p);
/** Binomial(n, p) mass P(X = k). */
export const binomialPmf = (k: number, n: number, p: number): number => binomialPmfImpl(k, n, p);
