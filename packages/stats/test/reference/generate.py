#!/usr/bin/env python3
"""Independent reference values for @abtel/stats.

Computed with numpy/scipy from raw data or from the textbook formulas, NOT from the TypeScript
code. Run `python3 packages/stats/test/reference/generate.py` to regenerate values.json; the tests
compare closed forms at 1e-9 relative and numerical integrations at 1e-6.
"""
import json
import math
import os

import numpy as np
from scipy import integrate, special, stats

rng = np.random.default_rng(20261122)
out = {"generator": f"numpy {np.__version__}, scipy {__import__('scipy').__version__}"}
Z95 = stats.norm.ppf(0.975)


def rel_lift(c, t, var_c, var_t):
    lift = (t - c) / c
    var = var_t / c**2 + t**2 * var_c / c**4
    return lift, [lift - Z95 * math.sqrt(var), lift + Z95 * math.sqrt(var)]


# --- binary: pooled z p-value cross-checked against the 2x2 chi-square (z^2 = chi2) -------------
binary = []
for (nc, xc, nt, xt) in [(1000, 600, 1000, 650), (5000, 412, 5100, 455), (37, 12, 41, 20), (20000, 3100, 19500, 2950)]:
    pc, pt = xc / nc, xt / nt
    var_c, var_t = pc * (1 - pc) / nc, pt * (1 - pt) / nt
    se = math.sqrt(var_c + var_t)
    pooled = (xc + xt) / (nc + nt)
    z = (pt - pc) / math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nt))
    chi2 = stats.chi2_contingency([[xc, nc - xc], [xt, nt - xt]], correction=False)
    lift, lift_ci = rel_lift(pc, pt, var_c, var_t)
    binary.append({
        "baseline": {"n": nc, "successes": xc}, "variant": {"n": nt, "successes": xt},
        "estimate": pt - pc, "standardError": se, "ci95": [pt - pc - Z95 * se, pt - pc + Z95 * se],
        "statistic": z, "pValue": float(chi2.pvalue), "relativeLift": lift, "relativeCi95": lift_ci,
    })
out["binary"] = binary


def sums(values):
    values = np.asarray(values, dtype=float)
    return {"n": int(values.size), "sum": float(values.sum()), "sumSquares": float((values**2).sum())}


# --- Welch: scipy.stats.ttest_ind(equal_var=False) on raw data ------------------------------------
welch = []
for (nc, nt, mc, mt, sc, st) in [(50, 60, 10.0, 11.0, 3.0, 5.0), (400, 380, 2.5, 2.4, 1.0, 1.3), (12, 9, 100.0, 120.0, 30.0, 10.0)]:
    c = rng.normal(mc, sc, nc).round(3)
    t = rng.normal(mt, st, nt).round(3)
    res = stats.ttest_ind(t, c, equal_var=False)
    ci = res.confidence_interval(0.95)
    lift, lift_ci = rel_lift(c.mean(), t.mean(), c.var(ddof=1) / nc, t.var(ddof=1) / nt)
    welch.append({
        "baseline": sums(c), "variant": sums(t), "estimate": float(t.mean() - c.mean()),
        "statistic": float(res.statistic), "df": float(res.df), "pValue": float(res.pvalue),
        "ci95": [float(ci.low), float(ci.high)], "relativeLift": lift, "relativeCi95": lift_ci,
    })
out["welch"] = welch

# --- ratio: delta method over units from raw per-unit (Y, N) with numpy covariances -------------
ratio = []
for (units_c, units_t) in [(300, 320), (40, 35)]:
    arms = []
    for units in (units_c, units_t):
        n_events = rng.poisson(3, units) + 1
        y = np.array([rng.gamma(2.0, 400.0, k).sum() for k in n_events]).round(2)
        arms.append((y, n_events.astype(float)))
    entry = {}
    values = []
    for name, (y, n) in zip(("baseline", "variant"), arms):
        r = y.sum() / n.sum()
        cov = np.cov(y, n, ddof=1)
        var_r = (cov[0, 0] - 2 * r * cov[0, 1] + r**2 * cov[1, 1]) / (y.size * n.mean() ** 2)
        entry[name] = {"n": int(y.size), "sumY": float(y.sum()), "sumYSquares": float((y**2).sum()), "sumN": float(n.sum()),
                       "sumNSquares": float((n**2).sum()), "sumYN": float((y * n).sum())}
        entry[name + "Ratio"] = float(r)
        entry[name + "Variance"] = float(var_r)
        values.append((r, var_r))
        entry[name + "Units"] = [[float(a), float(b)] for a, b in zip(y, n)]
    (rc, vc), (rt, vt) = values
    se = math.sqrt(vc + vt)
    z = (rt - rc) / se
    entry.update({"estimate": rt - rc, "standardError": se, "statistic": z, "pValue": float(2 * stats.norm.sf(abs(z)))})
    ratio.append(entry)
out["ratio"] = ratio

# --- quantiles: numpy linear interpolation; cluster bootstrap SE with many resamples ------------
quant = []
for q in (0.5, 0.95):
    arms = []
    for scale in (1.0, 1.1):
        units = [list(np.round(rng.lognormal(6.0, 0.5, rng.integers(1, 6)) * scale, 1)) for _ in range(250)]
        arms.append(units)
    point = [float(np.quantile(np.concatenate(a), q, method="linear")) for a in arms]
    boot_rng = np.random.default_rng(7)
    ses = []
    for units in arms:
        reps = []
        for _ in range(4000):
            pick = boot_rng.integers(0, len(units), len(units))
            reps.append(np.quantile(np.concatenate([units[i] for i in pick]), q, method="linear"))
        ses.append(float(np.std(reps, ddof=1)))
    quant.append({"q": q, "baseline": [[float(v) for v in u] for u in arms[0]], "variant": [[float(v) for v in u] for u in arms[1]],
                  "baselineValue": point[0], "variantValue": point[1], "standardError": math.hypot(*ses)})
out["quantile"] = quant
out["quantilePlain"] = [{"values": [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0], "q": q, "expected": float(np.quantile([3, 1, 4, 1, 5, 9, 2, 6], q, method="linear"))}
                        for q in (0, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 1)]

# --- multiple testing: scipy BH; Holm written from the step-down definition ---------------------
p_sets = [[0.01, 0.04, 0.03, 0.005, 0.2, 0.04], [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]]
multi = []
for p in p_sets:
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    holm_adj = [0.0] * m
    for rank, i in enumerate(order):
        holm_adj[i] = min(1.0, max(min(1.0, (m - j) * p[order[j]]) for j in range(rank + 1)))
    multi.append({"pValues": p, "bonferroni": [min(1.0, x * m) for x in p], "holm": holm_adj,
                  "bh": [float(v) for v in stats.false_discovery_control(p, method="bh")]})
out["multiple"] = multi

# --- CUPED: theta pooled over arms, then scipy Welch on adjusted raw values ---------------------
cuped = []
for (n, effect, corr) in [(500, 0.3, 0.8), (120, 0.0, 0.4)]:
    xs, ys = [], []
    for shift in (0.0, effect):
        x = rng.normal(10, 2, n)
        y = (corr * x + math.sqrt(1 - corr**2) * rng.normal(0, 2, n) + shift + 5).round(4)
        xs.append(x.round(4)); ys.append(y)
    x_all, y_all = np.concatenate(xs), np.concatenate(ys)
    theta = np.cov(y_all, x_all, ddof=1)[0, 1] / np.var(x_all, ddof=1)
    adj = [y - theta * (x - x_all.mean()) for x, y in zip(xs, ys)]
    res = stats.ttest_ind(adj[1], adj[0], equal_var=False)
    raw = stats.ttest_ind(ys[1], ys[0], equal_var=False)
    se_adj = (adj[1].mean() - adj[0].mean()) / res.statistic
    se_raw = (ys[1].mean() - ys[0].mean()) / raw.statistic
    arms = [{"n": n, "sum": float(y.sum()), "sumSquares": float((y**2).sum()), "sumX": float(x.sum()),
             "sumXSquares": float((x**2).sum()), "sumXY": float((x * y).sum())} for x, y in zip(xs, ys)]
    cuped.append({"baseline": arms[0], "variant": arms[1], "theta": float(theta), "estimate": float(adj[1].mean() - adj[0].mean()),
                  "statistic": float(res.statistic), "df": float(res.df), "pValue": float(res.pvalue),
                  "varianceReduction": float(1 - se_adj**2 / se_raw**2)})
out["cuped"] = cuped

# --- post-stratification (Miratrix et al. 2013) from raw strata ---------------------------------
strata = []
for name, (nc, nt, mu) in {"mobile": (80, 70, 3.0), "desktop": (40, 55, 5.0), "api": (25, 20, 8.0)}.items():
    c = rng.normal(mu, 1.5, nc).round(3); t = rng.normal(mu + 0.4, 1.5, nt).round(3)
    strata.append((name, c, t))
N = sum(c.size + t.size for _, c, t in strata)
mc = sum((c.size + t.size) / N * c.mean() for _, c, t in strata)
mt = sum((c.size + t.size) / N * t.mean() for _, c, t in strata)
vc = sum(((c.size + t.size) / N) ** 2 * c.var(ddof=1) / c.size for _, c, t in strata)
vt = sum(((c.size + t.size) / N) ** 2 * t.var(ddof=1) / t.size for _, c, t in strata)
out["postStratified"] = {"strata": [{"name": name, "baseline": sums(c), "variant": sums(t)} for name, c, t in strata],
                         "baselineValue": mc, "variantValue": mt, "estimate": mt - mc, "standardError": math.sqrt(vc + vt)}


# --- Bayesian: scipy quad, and Miller's (2015) closed form for P(B > A) with integer parameters --
def miller_prob_b_beats_a(a_a, b_a, a_b, b_b):
    total = 0.0
    for i in range(int(a_b)):
        total += math.exp(special.betaln(a_a + i, b_a + b_b) - math.log(b_b + i) - special.betaln(1 + i, b_b) - special.betaln(a_a, b_a))
    return total


bayes = []
for (nc, xc, nt, xt) in [(1000, 100, 1000, 120), (50, 10, 60, 9), (20000, 1400, 20000, 1480), (10, 0, 10, 1)]:
    a_c, b_c, a_t, b_t = 1 + xc, 1 + nc - xc, 1 + xt, 1 + nt - xt
    fc, ft = stats.beta(a_c, b_c), stats.beta(a_t, b_t)
    lo = min(fc.ppf(1e-15), ft.ppf(1e-15)); hi = max(fc.isf(1e-15), ft.isf(1e-15))
    pts = list(np.linspace(lo, hi, 50))
    ctb = integrate.quad(lambda x: ft.pdf(x) * fc.cdf(x), lo, hi, epsabs=1e-14, epsrel=1e-12, limit=500, points=pts)[0]
    # Expected loss in closed form (Stucchio 2015, "Bayesian A/B testing at VWO", eq. for E[loss]):
    # E[max(A - B, 0)] = mu_A * P(Beta(a_A + 1, b_A) > B) - mu_B * P(A > Beta(a_B + 1, b_B)).
    def loss(a_a, b_a, a_b, b_b):
        mu_a, mu_b = a_a / (a_a + b_a), a_b / (a_b + b_b)
        return mu_a * miller_prob_b_beats_a(a_b, b_b, a_a + 1, b_a) - mu_b * (1 - miller_prob_b_beats_a(a_a, b_a, a_b + 1, b_b))
    loss_t = loss(a_c, b_c, a_t, b_t)  # choosing the variant loses E[max(C - T, 0)]
    loss_c = loss(a_t, b_t, a_c, b_c)
    # The same by quadrature of the single integral, as a second opinion.
    loss_t_quad = integrate.quad(lambda t: ft.pdf(t) * (stats.beta(a_c + 1, b_c).sf(t) * fc.mean() - t * fc.sf(t)),
                                 lo, hi, epsabs=1e-14, limit=500, points=pts)[0]
    assert abs(loss_t - loss_t_quad) < 1e-9, (loss_t, loss_t_quad)
    bayes.append({"baseline": {"n": nc, "successes": xc}, "variant": {"n": nt, "successes": xt}, "chanceToBeat": ctb,
                  "chanceToBeatClosedForm": miller_prob_b_beats_a(a_c, b_c, a_t, b_t),
                  "expectedLossVariant": loss_t, "expectedLossBaseline": loss_c})
out["bayes"] = bayes
arms3 = [(100, 10), (100, 15), (100, 12)]
post = [stats.beta(1 + x, 1 + n - x) for n, x in arms3]
best = []
for i, own in enumerate(post):
    others = [p for j, p in enumerate(post) if j != i]
    best.append(integrate.quad(lambda u: own.pdf(u) * np.prod([p.cdf(u) for p in others]), 0, 1, epsabs=1e-14, limit=500, points=list(np.linspace(0, 0.5, 40)))[0])
out["probabilityBest"] = {"arms": [{"n": n, "successes": x} for n, x in arms3], "expected": best}


# --- group-sequential boundaries: root-finding on multivariate normal probabilities (Genz) ------
def of_spending(t, alpha):
    return 4 * stats.norm.sf(stats.norm.isf(alpha / 4) / math.sqrt(t))


def boundaries(fractions, alpha):
    bounds = []
    for k, t in enumerate(fractions):
        target = 1 - of_spending(t, alpha)  # P(|Z_j| < c_j for all j <= k)
        cov = np.array([[math.sqrt(min(a, b) / max(a, b)) for b in fractions[: k + 1]] for a in fractions[: k + 1]])
        mvn = stats.multivariate_normal(mean=np.zeros(k + 1), cov=cov, seed=1, maxpts=500_000 * (k + 1), abseps=1e-8, releps=1e-8)

        def stay(c):
            upper = np.array(bounds + [c])
            return mvn.cdf(upper, lower_limit=-upper) - target

        bounds.append(float(__import__('scipy').optimize.brentq(stay, 0.5, 8, xtol=1e-8)))
    return bounds


out["boundaries"] = [
    {"fractions": f, "alpha": a, "z": boundaries(f, a)}
    for f, a in [([0.25, 0.5, 0.75, 1.0], 0.05), ([0.3, 0.7, 1.0], 0.05), ([0.2, 0.4, 0.6, 0.8, 1.0], 0.01), ([0.5, 1.0], 0.1)]
]

# --- sample sizes: Fleiss et al. normal approximation written out -------------------------------
def n_props(pc, delta, alpha, power, wc, wt):
    pt = pc + delta
    pbar = (wc * pc + wt * pt) / (wc + wt)
    za, zb = stats.norm.isf(alpha / 2), stats.norm.ppf(power)
    root = (za * math.sqrt(pbar * (1 - pbar) * (1 / wc + 1 / wt)) + zb * math.sqrt(pc * (1 - pc) / wc + pt * (1 - pt) / wt)) / delta
    return root**2


power = []
for (pc, d, a, pw, w) in [(0.6, 0.05, 0.05, 0.8, [0.5, 0.5]), (0.6, 0.02, 0.05, 0.8, [0.5, 0.5]), (0.1, 0.01, 0.05, 0.9, [0.3, 0.7]),
                          (0.25, -0.03, 0.01, 0.8, [0.5, 0.5])]:
    total = n_props(pc, d, a, pw, w[0], w[1])
    power.append({"baseline": pc, "mde": d, "alpha": a, "power": pw, "allocation": w, "perArm": [math.ceil(x * total - 1e-9) for x in w]})
out["sampleSizeProportions"] = power
out["sampleSizeMeans"] = [{"sd": 10.0, "mde": 1.0, "perArm": [math.ceil(2 * ((stats.norm.isf(0.025) + stats.norm.ppf(0.8)) * 10 / 1.0) ** 2 - 1e-9)] * 2}]

# --- judge statistics ----------------------------------------------------------------------------
def kappa(table, weights):
    table = np.asarray(table, dtype=float)
    k = table.shape[0]
    n = table.sum()
    p = table / n
    idx = np.arange(k)
    w = np.eye(k) if weights == "none" else 1 - (idx[:, None] - idx[None, :]) ** 2 / (k - 1) ** 2
    row, col = p.sum(1), p.sum(0)
    po, pe = (w * p).sum(), (w * np.outer(row, col)).sum()
    kap = (po - pe) / (1 - pe)
    wbar_row, wbar_col = w @ col, row @ w
    var = ((p * (w - (wbar_row[:, None] + wbar_col[None, :]) * (1 - kap)) ** 2).sum() - (kap - pe * (1 - kap)) ** 2) / (n * (1 - pe) ** 2)
    return {"table": table.astype(int).tolist(), "weights": weights, "kappa": float(kap), "standardError": float(math.sqrt(var)),
            "agreement": float(np.trace(p))}


kappa_tables = [[[20, 5], [10, 15]], [[22, 3, 1, 0], [4, 30, 6, 1], [0, 5, 25, 4], [1, 0, 3, 15]], [[40, 9, 2], [6, 33, 5], [1, 7, 27]]]
out["kappa"] = [kappa(t, w) for t in kappa_tables for w in ("none", "quadratic")]
# A second, formula-free check of the standard error: the spread of kappa over 20,000 multinomial
# resamples of each table (a parametric bootstrap), with its own generator.
sim_rng = np.random.default_rng(99)
for entry in out["kappa"]:
    table = np.asarray(entry["table"], dtype=float)
    n = int(table.sum())
    draws = sim_rng.multinomial(n, (table / n).ravel(), size=20000).reshape(-1, *table.shape)
    kappas = [kappa(d, entry["weights"])["kappa"] for d in draws if (d.sum(1) > 0).sum() > 0]
    entry["simulatedStandardError"] = float(np.std(kappas, ddof=1))
out["binomialTest"] = [{"successes": k, "n": n, "p": p, "pValue": float(stats.binomtest(k, n, p).pvalue)}
                       for k, n, p in [(62, 100, 0.5), (3, 20, 0.5), (530, 1000, 0.5), (7, 40, 0.3), (40, 40, 0.5), (12, 30, 0.4)]]
sp = []
for n in (5, 30, 200):
    x = rng.normal(0, 1, n).round(1)
    y = (0.4 * x + rng.normal(0, 1, n)).round(1)
    r = stats.spearmanr(x, y)
    sp.append({"x": x.tolist(), "y": y.tolist(), "rho": float(r.statistic), "pValue": float(r.pvalue)})
out["spearman"] = sp
out["wilson"] = [{"successes": k, "n": n, "ci95": list(map(float, stats.binomtest(k, n).proportion_ci(0.95, method="wilson")))}
                 for k, n in [(81, 263), (0, 10), (10, 10), (55, 100), (1, 2000)]]
tint = []
for n in (4, 25):
    v = rng.normal(3.5, 1.0, n).round(2)
    lo, hi = stats.t.interval(0.95, n - 1, loc=v.mean(), scale=stats.sem(v))
    tint.append({"arm": sums(v), "mean": float(v.mean()), "ci95": [float(lo), float(hi)]})
out["meanTInterval"] = tint

# --- health ------------------------------------------------------------------------------------
out["srm"] = [{"observed": o, "weights": w, "chiSquare": float(r.statistic), "pValue": float(r.pvalue)}
              for o, w in [([5000, 5200], [0.5, 0.5]), ([4800, 5300, 5050], [1, 1, 1]), ([1010, 2050], [1, 2]), ([900, 1100], [0.5, 0.5]),
                           ([5000, 6500], [0.5, 0.5]), ([10, 90], [0.5, 0.5])]
              for r in [stats.chisquare(o, np.sum(o) * np.asarray(w, float) / np.sum(w))]]
mix = []
for table in ([[480, 520], [520, 480]], [[300, 310, 290], [150, 160, 140], [50, 30, 70]], [[1000, 1100], [200, 150], [80, 85]]):
    r = stats.chi2_contingency(table, correction=False)
    mix.append({"counts": table, "chiSquare": float(r.statistic), "pValue": float(r.pvalue), "df": int(r.dof)})
out["segmentMix"] = mix

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "values.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote", path)
