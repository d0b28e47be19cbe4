// The stdlib (https://stdlib.io) distribution functions @abtel/stats uses, in one CommonJS module.
// From the sources this file requires the packages directly; the build replaces it in dist/ with
// one bundled file (scripts/bundle-stdlib.mjs), because loading the ≈ 900 small modules these
// packages consist of costs ≈ 150 ms at start-up and the bundle ≈ 20 ms.
module.exports = {
  normalCdf: require('@stdlib/stats-base-dists-normal-cdf'),
  normalQuantile: require('@stdlib/stats-base-dists-normal-quantile'),
  normalPdf: require('@stdlib/stats-base-dists-normal-pdf'),
  tCdf: require('@stdlib/stats-base-dists-t-cdf'),
  tQuantile: require('@stdlib/stats-base-dists-t-quantile'),
  gammainc: require('@stdlib/math-base-special-gammainc'),
  betaCdf: require('@stdlib/stats-base-dists-beta-cdf'),
  betaPdf: require('@stdlib/stats-base-dists-beta-pdf'),
  binomialCdf: require('@stdlib/stats-base-dists-binomial-cdf'),
  binomialPmf: require('@stdlib/stats-base-dists-binomial-pmf'),
};
