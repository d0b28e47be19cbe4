"""Reference values for the asymptotic cluster-robust quantile interval (Deng, Knoblich & Lu 2018,
KDD, quantile section), computed with numpy/scipy independently of the TypeScript code:
numpy.quantile(method="linear") for every quantile, np.cov (ddof = 1) for the delta-method
variance of p̂ = ΣI/ΣN over units, scipy.stats.norm for z and p-values, and a numpy cluster
bootstrap (whole units resampled) as a second, method-independent standard error.
Run: python3 test/reference/quantile_asymptotic.py > test/reference/quantile-asymptotic.json"""
import json
import math

import numpy as np
from scipy import stats

rng = np.random.default_rng(20181119)
Z = stats.norm.ppf(0.975)


def arm_stats(units, q):
    values = np.concatenate([np.asarray(u, dtype=float) for u in units if len(u) > 0])
    q_hat = float(np.quantile(values, q, method="linear"))
    N = np.array([len(u) for u in units if len(u) > 0], dtype=float)
    I = np.array([np.sum(np.asarray(u) <= q_hat) for u in units if len(u) > 0], dtype=float)
    n = len(N)
    p_hat = I.sum() / N.sum()
    cov = np.cov(np.vstack([I, N]), ddof=1)
    var_p = (cov[0, 0] - 2 * p_hat * cov[0, 1] + p_hat**2 * cov[1, 1]) / (n * N.mean() ** 2)
    sigma = math.sqrt(max(var_p, 0.0))
    lo_level, hi_level = q - Z * sigma, q + Z * sigma
    lower = float(np.quantile(values, max(0.0, lo_level), method="linear"))
    upper = float(np.quantile(values, min(1.0, hi_level), method="linear"))
    se = (upper - lower) / (2 * Z)
    return {
        "n": n, "events": int(N.sum()), "value": q_hat, "sumI": float(I.sum()), "sumISquares": float((I * I).sum()),
        "sumNSquares": float((N * N).sum()), "sumIN": float((I * N).sum()), "proportion": float(p_hat), "sigmaP": sigma,
        "lowerLevel": lo_level, "upperLevel": hi_level, "lower": lower, "upper": upper, "standardError": se,
    }


def bootstrap_se(units, q, reps, seed):
    boot = np.random.default_rng(seed)
    out = []
    for _ in range(reps):
        pick = boot.integers(0, len(units), len(units))
        out.append(np.quantile(np.concatenate([units[i] for i in pick]), q, method="linear"))
    return float(np.std(out, ddof=1))


def clustered(units_count, mu, unit_sd, event_sd, max_events, decimals):
    units = []
    for _ in range(units_count):
        k = int(rng.integers(1, max_events + 1))
        u = rng.normal(0, unit_sd)
        units.append([float(v) for v in np.round(np.exp(mu + u + rng.normal(0, event_sd, k)), decimals)])
    return units


cases = []
for (name, q, count, unit_sd, decimals, effect) in [
    ("p95 lognormal, strong clustering", 0.95, 400, 0.6, 3, 0.10),
    ("p50 lognormal, weak clustering", 0.5, 300, 0.2, 3, 0.0),
    ("p99 whole milliseconds (ties)", 0.99, 800, 0.4, 0, 0.05),
    ("p90 whole milliseconds, many ties", 0.9, 250, 0.5, -1, 0.2),
]:
    baseline = clustered(count, 6.0, unit_sd, 0.5, 8, decimals)
    variant = clustered(count, 6.0 + effect, unit_sd, 0.5, 8, decimals)
    b, v = arm_stats(baseline, q), arm_stats(variant, q)
    diff = v["value"] - b["value"]
    se = math.hypot(b["standardError"], v["standardError"])
    zstat = diff / se
    rel_var = v["standardError"] ** 2 / b["value"] ** 2 + v["value"] ** 2 * b["standardError"] ** 2 / b["value"] ** 4
    cases.append({
        "name": name, "q": q, "baseline": baseline, "variant": variant, "baselineArm": b, "variantArm": v,
        "estimate": diff, "standardError": se, "ci95": [diff - Z * se, diff + Z * se],
        "pValue": float(2 * stats.norm.sf(abs(zstat))), "relativeLift": diff / b["value"],
        "relativeCi95": [diff / b["value"] - Z * math.sqrt(rel_var), diff / b["value"] + Z * math.sqrt(rel_var)],
        "bootstrapStandardError": math.hypot(bootstrap_se(baseline, q, 3000, 1), bootstrap_se(variant, q, 3000, 2)),
    })

print(json.dumps({"cases": cases}))
