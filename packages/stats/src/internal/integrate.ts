/**
 * Adaptive Gauss–Kronrod (G7–K15) quadrature, the scheme of QUADPACK's QAG (Piessens et al. 1983),
 * which is also what scipy.integrate.quad uses. Used for Bayesian posteriors, where Monte Carlo
 * would not reach 1e-6.
 */

const XGK = [
  0.991455371120812639206854697526329, 0.949107912342758524526189684047851, 0.864864423359769072789712788640926,
  0.741531185599394439863864773280788, 0.58608723546769113029414483825873, 0.405845151377397166906606412076961,
  0.207784955007898467600689403773245, 0,
];
const WGK = [
  0.02293532201052922496373200805897, 0.063092092629978553290700663189204, 0.104790010322250183839876322541518,
  0.140653259715525918745189590510238, 0.16900472663926790282658342659855, 0.190350578064785409913256402421014,
  0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
];
const WG = [0.129484966168869693270611432679082, 0.27970539148927666790146777142378, 0.381830050505118944950369775488975, 0.417959183673469387755102040816327];

function kronrod(f: (x: number) => number, a: number, b: number): { value: number; error: number } {
  const center = (a + b) / 2;
  const half = (b - a) / 2;
  const fc = f(center);
  let kronrodSum = fc * WGK[7]!;
  let gaussSum = fc * WG[3]!;
  for (let j = 0; j < 7; j++) {
    const dx = half * XGK[j]!;
    const sum = f(center - dx) + f(center + dx);
    kronrodSum += WGK[j]! * sum;
    // Gauss nodes are the odd-indexed Kronrod nodes.
    if (j % 2 === 1) gaussSum += WG[(j - 1) / 2]! * sum;
  }
  return { value: kronrodSum * half, error: Math.abs((kronrodSum - gaussSum) * half) };
}

/**
 * ∫ₐᵇ f(x) dx to absolute tolerance `tolerance`, splitting the interval into `panels` first so that
 * narrow peaks are not missed, then bisecting the worst panel until the error estimate is small.
 */
export function integrate(f: (x: number) => number, a: number, b: number, tolerance = 1e-13, panels = 16): number {
  if (!(b > a)) return 0;
  interface Piece { a: number; b: number; value: number; error: number }
  const pieces: Piece[] = [];
  const width = (b - a) / panels;
  for (let i = 0; i < panels; i++) {
    const lo = a + i * width;
    const hi = i === panels - 1 ? b : lo + width;
    pieces.push({ a: lo, b: hi, ...kronrod(f, lo, hi) });
  }
  for (let iteration = 0; iteration < 2000; iteration++) {
    let total = 0;
    let worst = 0;
    for (let i = 0; i < pieces.length; i++) {
      total += pieces[i]!.error;
      if (pieces[i]!.error > pieces[worst]!.error) worst = i;
    }
    if (total <= tolerance) break;
    const piece = pieces[worst]!;
    const mid = (piece.a + piece.b) / 2;
    if (!(mid > piece.a && mid < piece.b)) break;
    pieces.splice(worst, 1, { a: piece.a, b: mid, ...kronrod(f, piece.a, mid) }, { a: mid, b: piece.b, ...kronrod(f, mid, piece.b) });
  }
  let value = 0;
  for (const piece of pieces) value += piece.value;
  return value;
}

/** Finds x in [lo, hi] with f(x) = 0 for an increasing or decreasing f by bisection to `tolerance`. */
export function bisect(f: (x: number) => number, lo: number, hi: number, tolerance = 1e-12): number {
  let flo = f(lo);
  for (let i = 0; i < 200 && hi - lo > tolerance; i++) {
    const mid = (lo + hi) / 2;
    const fmid = f(mid);
    if (fmid === 0) return mid;
    if (Math.sign(fmid) === Math.sign(flo)) {
      lo = mid;
      flo = fmid;
    } else {
      hi = mid;
    }
  }
  return (lo + hi) / 2;
}
