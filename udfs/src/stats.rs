//! Distribution functions used by the funnels and effect sizes: the normal
//! quantile, binomial and Poisson probabilities, the regularised incomplete
//! gamma function and its inverse (chi-square quantiles).
//!
//! Everything here works on plain `f64` and never panics: arguments outside
//! a function's domain give `NaN` (documented per function), so the SQL
//! plumbing can turn them into errors or NULLs.
//!
//! Accuracy: the normal quantile is Wichura's AS 241 (about 1e-16 relative);
//! binomial and Poisson probabilities use Loader's saddle-point form (the one
//! R's `dbinom`/`dpois` use), which keeps full relative precision for large
//! counts; the incomplete gamma function uses its power series or continued
//! fraction with that prefactor. Quantiles are refined by safeguarded Newton
//! iteration to about 1e-14 relative. The unit tests check published values.
//!
//! `statrs` supplies `ln_gamma` (Lanczos, about 1e-15 relative).

// The AS 241 coefficients are quoted as published (more digits than f64
// holds), so they can be checked against the paper digit for digit.
#![allow(clippy::excessive_precision)]

use statrs::function::gamma::ln_gamma;
use std::f64::consts::PI;

/// ln(sqrt(2 pi)).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Above this shape the incomplete gamma series needs more than ~10^5 terms;
/// the gamma quantile then uses a Cornish-Fisher expansion instead (relative
/// error below 1e-12 there, see the tests).
const GAMMA_EXACT_MAX_SHAPE: f64 = 1e8;

/// Above this binomial standard deviation (in counts) the exact sums need more
/// than ~10^5 terms; the interpolated binomial quantile then uses a
/// Cornish-Fisher expansion (error below 1e-10 counts there, see the tests).
const BINOMIAL_EXACT_MAX_SD: f64 = 1e4;

// ---------------------------------------------------------------------------
// Normal distribution
// ---------------------------------------------------------------------------

/// Evaluates a polynomial with coefficients in increasing order of power.
fn poly(coefs: &[f64], x: f64) -> f64 {
    coefs.iter().rev().fold(0.0, |acc, c| acc * x + c)
}

/// Standard normal quantile Phi^-1(p): Wichura (1988), Algorithm AS 241
/// (PPND16), accurate to about 1 part in 10^16.
///
/// Returns `-inf` for p = 0, `+inf` for p = 1 and `NaN` outside [0, 1].
pub fn normal_quantile(p: f64) -> f64 {
    // AS 241 coefficients, Applied Statistics 37(3):477-484, 1988.
    const A: [f64; 8] = [
        3.387_132_872_796_366_608,
        1.331_416_678_917_843_774_5e2,
        1.971_590_950_306_551_442_7e3,
        1.373_169_376_550_946_112_5e4,
        4.592_195_393_154_987_145_7e4,
        6.726_577_092_700_870_085_3e4,
        3.343_057_558_358_812_810_5e4,
        2.509_080_928_730_122_672_7e3,
    ];
    const B: [f64; 8] = [
        1.0,
        4.231_333_070_160_091_125_2e1,
        6.871_870_074_920_579_083e2,
        5.394_196_021_424_751_107_7e3,
        2.121_379_430_158_659_586_7e4,
        3.930_789_580_009_271_061e4,
        2.872_908_573_572_194_267_4e4,
        5.226_495_278_852_854_561e3,
    ];
    const C: [f64; 8] = [
        1.423_437_110_749_683_577_34,
        4.630_337_846_156_545_295_9,
        5.769_497_221_460_691_405_5,
        3.647_848_324_763_204_605_04,
        1.270_458_252_452_368_382_58,
        2.417_807_251_774_506_117_7e-1,
        2.272_384_498_926_918_458_33e-2,
        7.745_450_142_783_414_076_4e-4,
    ];
    const D: [f64; 8] = [
        1.0,
        2.053_191_626_637_758_821_87,
        1.676_384_830_183_803_849_4,
        6.897_673_349_851_000_045_5e-1,
        1.481_039_764_274_800_745_9e-1,
        1.519_866_656_361_645_719_66e-2,
        5.475_938_084_995_344_946e-4,
        1.050_750_071_644_416_843_24e-9,
    ];
    const E: [f64; 8] = [
        6.657_904_643_501_103_777_2,
        5.463_784_911_164_114_369_9,
        1.784_826_539_917_291_335_8,
        2.965_605_718_285_048_912_3e-1,
        2.653_218_952_657_612_309_3e-2,
        1.242_660_947_388_078_438_6e-3,
        2.711_555_568_743_487_578_15e-5,
        2.010_334_399_292_288_132_65e-7,
    ];
    const F: [f64; 8] = [
        1.0,
        5.998_322_065_558_879_376_9e-1,
        1.369_298_809_227_358_053_1e-1,
        1.487_536_129_085_061_485_25e-2,
        7.868_691_311_456_132_591e-4,
        1.846_318_317_510_054_681_8e-5,
        1.421_511_758_316_445_888_7e-7,
        2.044_263_103_389_939_785_64e-15,
    ];
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let mut r = (-tail.ln()).sqrt();
    let value = if r <= 5.0 {
        r -= 1.6;
        poly(&C, r) / poly(&D, r)
    } else {
        r -= 5.0;
        poly(&E, r) / poly(&F, r)
    };
    if q < 0.0 {
        -value
    } else {
        value
    }
}

/// Standard normal CDF Phi(x), from the incomplete gamma function
/// (Phi(x) = Q(1/2, x^2/2) / 2 for x < 0), accurate in both tails.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let (p, q) = gamma_pq(0.5, 0.5 * x * x);
    if x < 0.0 {
        0.5 * q
    } else {
        0.5 + 0.5 * p
    }
}

/// Two-sided normal multiplier for a coverage given in percent:
/// z = Phi^-1(1 - (1 - c/100) / 2). 95 gives 1.959963985, 99.8 gives
/// 3.090232306.
///
/// Returns `None` unless 0 < coverage < 100.
pub fn z_for_coverage(coverage_percent: f64) -> Option<f64> {
    if !(coverage_percent > 0.0 && coverage_percent < 100.0) {
        return None;
    }
    // The tail area (100 - c) / 200 is formed without cancellation.
    let tail = (100.0 - coverage_percent) / 200.0;
    Some(-normal_quantile(tail))
}

/// Lower-tail probability below the central `coverage_percent` interval:
/// (1 - c/100) / 2. `None` unless 0 < coverage < 100.
pub fn tail_for_coverage(coverage_percent: f64) -> Option<f64> {
    if !(coverage_percent > 0.0 && coverage_percent < 100.0) {
        return None;
    }
    Some((100.0 - coverage_percent) / 200.0)
}

// ---------------------------------------------------------------------------
// Saddle-point pieces (Loader 2000, "Fast and accurate computation of
// binomial probabilities"), as in R's nmath stirlerr.c and bd0.c.
// ---------------------------------------------------------------------------

/// Stirling-formula error: ln(x!) - ((x + 1/2) ln x - x + ln sqrt(2 pi)).
fn stirlerr(x: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if x <= 0.0 {
        return 0.0;
    }
    if x <= 15.0 {
        return ln_gamma(x + 1.0) - (x + 0.5) * x.ln() + x - LN_SQRT_2PI;
    }
    let xx = x * x;
    if x > 500.0 {
        (S0 - S1 / xx) / x
    } else if x > 80.0 {
        (S0 - (S1 - S2 / xx) / xx) / x
    } else if x > 35.0 {
        (S0 - (S1 - (S2 - S3 / xx) / xx) / xx) / x
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / xx) / xx) / xx) / xx) / x
    }
}

/// Deviance term x ln(x / m) + m - x, computed without cancellation when
/// x is close to m.
fn bd0(x: f64, m: f64) -> f64 {
    if x == 0.0 {
        return m;
    }
    if (x - m).abs() < 0.1 * (x + m) {
        let mut v = (x - m) / (x + m);
        let mut s = (x - m) * v;
        let mut ej = 2.0 * x * v;
        v *= v;
        for j in 1..1000 {
            ej *= v;
            let s1 = s + ej / f64::from(2 * j + 1);
            if s1 == s {
                return s1;
            }
            s = s1;
        }
        return s;
    }
    x * (x / m).ln() + m - x
}

/// Poisson "density" x^x... generalised to real x: m^x e^-m / Gamma(x + 1),
/// for real x >= 0 and m >= 0 (R's `dpois_raw`). Also the prefactor of the
/// incomplete gamma function.
fn poisson_raw(x: f64, m: f64) -> f64 {
    if m == 0.0 {
        return if x == 0.0 { 1.0 } else { 0.0 };
    }
    if !m.is_finite() {
        return 0.0;
    }
    if x == 0.0 {
        return (-m).exp();
    }
    if !x.is_finite() {
        return 0.0;
    }
    if x < 0.0 {
        return 0.0;
    }
    (-stirlerr(x) - bd0(x, m)).exp() / (2.0 * PI * x).sqrt()
}

/// Poisson probability mass P(X = k), X ~ Poisson(mean), for whole k >= 0.
/// `NaN` for a negative or non-finite mean.
pub fn poisson_pmf(k: f64, mean: f64) -> f64 {
    if !(mean >= 0.0) || !mean.is_finite() || k.is_nan() {
        return f64::NAN;
    }
    if k < 0.0 || k.fract() != 0.0 {
        return 0.0;
    }
    poisson_raw(k, mean)
}

/// Binomial probability mass P(X = k), X ~ Binomial(n, p), for whole k.
/// `NaN` unless n is a whole number >= 0 and 0 <= p <= 1.
pub fn binomial_pmf(k: f64, n: f64, p: f64) -> f64 {
    if !valid_binomial(n, p) || k.is_nan() {
        return f64::NAN;
    }
    if k < 0.0 || k > n || k.fract() != 0.0 {
        return 0.0;
    }
    binomial_raw(k, n, p, 1.0 - p)
}

fn valid_binomial(n: f64, p: f64) -> bool {
    n >= 0.0 && n.is_finite() && n.fract() == 0.0 && (0.0..=1.0).contains(&p)
}

/// R's `dbinom_raw`: k, n whole, 0 <= k <= n, q = 1 - p.
fn binomial_raw(k: f64, n: f64, p: f64, q: f64) -> f64 {
    if p == 0.0 {
        return if k == 0.0 { 1.0 } else { 0.0 };
    }
    if q == 0.0 {
        return if k == n { 1.0 } else { 0.0 };
    }
    if k == 0.0 {
        if n == 0.0 {
            return 1.0;
        }
        let lc = if p < 0.1 {
            -bd0(n, n * q) - n * p
        } else {
            n * q.ln()
        };
        return lc.exp();
    }
    if k == n {
        let lc = if q < 0.1 {
            -bd0(n, n * p) - n * q
        } else {
            n * p.ln()
        };
        return lc.exp();
    }
    let lc = stirlerr(n) - stirlerr(k) - stirlerr(n - k) - bd0(k, n * p) - bd0(n - k, n * q);
    // 2 pi k (n - k) / n, formed as in R to avoid overflow.
    let lf = (2.0 * PI).ln() + k.ln() + (-k / n).ln_1p();
    (lc - 0.5 * lf).exp()
}

/// Binomial CDF P(X <= k), X ~ Binomial(n, p). `k` is floored.
/// `NaN` unless n is a whole number >= 0 and 0 <= p <= 1.
///
/// Sums probabilities outward from k into the nearer tail (so terms shrink
/// geometrically); the cost grows with the standard deviation sqrt(npq).
pub fn binomial_cdf(k: f64, n: f64, p: f64) -> f64 {
    if !valid_binomial(n, p) || k.is_nan() {
        return f64::NAN;
    }
    let k = k.floor();
    if k < 0.0 {
        return 0.0;
    }
    if k >= n {
        return 1.0;
    }
    let q = 1.0 - p;
    if p == 0.0 {
        return 1.0;
    }
    if q == 0.0 {
        return 0.0;
    }
    if k < n * p {
        lower_tail_sum(k, n, p, q)
    } else {
        1.0 - upper_tail_sum(k + 1.0, n, p, q)
    }
}

/// sum_{j <= k} P(X = j), summed downward from k.
fn lower_tail_sum(k: f64, n: f64, p: f64, q: f64) -> f64 {
    let mut term = binomial_raw(k, n, p, q);
    let mut sum = term;
    let mut j = k;
    while j > 0.0 && term > sum * 1e-17 {
        term *= j * q / ((n - j + 1.0) * p);
        sum += term;
        j -= 1.0;
    }
    sum
}

/// sum_{j >= k} P(X = j), summed upward from k.
fn upper_tail_sum(k: f64, n: f64, p: f64, q: f64) -> f64 {
    let mut term = binomial_raw(k, n, p, q);
    let mut sum = term;
    let mut j = k;
    while j < n && term > sum * 1e-17 {
        term *= (n - j) * p / ((j + 1.0) * q);
        sum += term;
        j += 1.0;
    }
    sum
}

/// The interpolated binomial quantile of Spiegelhalter (2005, appendix A.1.1):
/// with r the smallest count such that F(r) >= prob under Binomial(n, p),
/// returns r - (F(r) - prob) / (F(r) - F(r - 1)), i.e. the quantile of the
/// CDF interpolated linearly between whole counts. Divide by n for a
/// proportion limit (it can be negative; callers clamp).
///
/// `NaN` unless n is a whole number >= 1, 0 <= p <= 1 and 0 < prob < 1.
/// When sqrt(n p (1 - p)) > 1e4 a Cornish-Fisher expansion replaces the
/// exact sums (error below 1e-10 counts there; see the tests).
pub fn binomial_interpolated_quantile(n: f64, p: f64, prob: f64) -> f64 {
    if !valid_binomial(n, p) || n < 1.0 || !(prob > 0.0 && prob < 1.0) {
        return f64::NAN;
    }
    let q = 1.0 - p;
    let sd = (n * p * q).sqrt();
    if sd > BINOMIAL_EXACT_MAX_SD {
        return binomial_interpolated_quantile_cf(n, p, prob);
    }
    // F(r) - F(r - 1) is the probability mass at r.
    let (r, f_r, pmf_r) = binomial_quantile_search(n, p, prob);
    let a = if pmf_r > 0.0 {
        (f_r - prob) / pmf_r
    } else {
        0.0
    };
    // Guard against rounding in F pushing a just outside [0, 1].
    r - a.clamp(0.0, 1.0)
}

/// Cornish-Fisher approximation to [`binomial_interpolated_quantile`] for
/// large n p (1 - p): the interpolated CDF at a count k is P(X <= k), i.e. the
/// continuity-corrected distribution shifted by one half.
fn binomial_interpolated_quantile_cf(n: f64, p: f64, prob: f64) -> f64 {
    let q = 1.0 - p;
    let sd = (n * p * q).sqrt();
    let z = normal_quantile(prob);
    let g1 = (q - p) / sd; // skewness
    let g2 = (1.0 - 6.0 * p * q) / (n * p * q); // excess kurtosis
    let w = z + (z * z - 1.0) * g1 / 6.0 + (z * z * z - 3.0 * z) * g2 / 24.0
        - (2.0 * z * z * z - 5.0 * z) * g1 * g1 / 36.0;
    n * p + sd * w - 0.5
}

/// Smallest whole r with F(r) >= prob; returns (r, F(r), P(X = r)).
/// Requires valid arguments, 0 < p < 1 handled, p = 0 or 1 degenerate.
fn binomial_quantile_search(n: f64, p: f64, prob: f64) -> (f64, f64, f64) {
    let q = 1.0 - p;
    if p == 0.0 {
        return (0.0, 1.0, 1.0);
    }
    if q == 0.0 {
        return (n, 1.0, 1.0);
    }
    let sd = (n * p * q).sqrt();
    let guess = (n * p + normal_quantile(prob) * sd).floor().clamp(0.0, n);
    let mut r = guess;
    let mut f = binomial_cdf(r, n, p);
    let mut pmf = binomial_raw(r, n, p, q);
    if f >= prob {
        // Walk down while the previous count still reaches prob.
        while r > 0.0 && f - pmf >= prob {
            f -= pmf;
            pmf *= r * q / ((n - r + 1.0) * p);
            r -= 1.0;
        }
    } else {
        while f < prob && r < n {
            pmf *= (n - r) * p / ((r + 1.0) * q);
            r += 1.0;
            f += pmf;
        }
    }
    if r != guess {
        // Recompute at the final count so rounding does not accumulate.
        f = binomial_cdf(r, n, p);
        pmf = binomial_raw(r, n, p, q);
    }
    (r, f, pmf)
}

// ---------------------------------------------------------------------------
// Incomplete gamma function, chi-square and Poisson quantiles
// ---------------------------------------------------------------------------

/// Regularised incomplete gamma functions (P(a, x), Q(a, x) = 1 - P) for
/// shape a > 0 and x >= 0, both returned so neither loses precision to
/// cancellation. `(NaN, NaN)` outside the domain.
pub fn gamma_pq(a: f64, x: f64) -> (f64, f64) {
    if !(a > 0.0) || !a.is_finite() || !(x >= 0.0) {
        return (f64::NAN, f64::NAN);
    }
    if x == 0.0 {
        return (0.0, 1.0);
    }
    if x == f64::INFINITY {
        return (1.0, 0.0);
    }
    // x^a e^-x / Gamma(a + 1), without overflow or cancellation.
    let prefactor = poisson_raw(a, x);
    if x < a + 1.0 {
        // P(a, x) = prefactor * sum_k x^k / ((a+1)...(a+k)).
        let mut term = 1.0;
        let mut sum = 1.0;
        let mut k = 1.0;
        while term > sum * 1e-17 {
            term *= x / (a + k);
            sum += term;
            k += 1.0;
        }
        let p = (prefactor * sum).min(1.0);
        (p, 1.0 - p)
    } else {
        // Q(a, x) = a * prefactor * continued fraction (modified Lentz).
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..100_000 {
            let i = f64::from(i);
            let an = -i * (i - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        let q = (a * prefactor * h).clamp(0.0, 1.0);
        (1.0 - q, q)
    }
}

/// Quantile of the Gamma(shape, 1) distribution: the x with P(shape, x) =
/// prob. `upper` selects the upper tail (Q(shape, x) = prob), which keeps
/// precision for probabilities near 1. `NaN` unless shape > 0 and
/// 0 < prob < 1.
pub fn gamma_quantile(shape: f64, prob: f64, upper: bool) -> f64 {
    if !(shape > 0.0 && shape.is_finite() && prob > 0.0 && prob < 1.0) {
        return f64::NAN;
    }
    let lower_prob = if upper { 1.0 - prob } else { prob };
    let z = if upper {
        -normal_quantile(prob)
    } else {
        normal_quantile(prob)
    };
    if shape > GAMMA_EXACT_MAX_SHAPE {
        return gamma_quantile_cf(shape, z);
    }
    // Starting value: Wilson-Hilferty, or the small-x expansion
    // P(a, x) ~ x^a / Gamma(a + 1) when that fails.
    let wh = shape * (1.0 - 1.0 / (9.0 * shape) + z / (3.0 * shape.sqrt())).powi(3);
    let mut u = if wh > 0.0 && wh.is_finite() && shape >= 1.0 {
        wh.ln()
    } else {
        (lower_prob.ln() + ln_gamma(shape + 1.0)) / shape
    };
    if !u.is_finite() {
        u = 0.0;
    }
    // Newton in ln x (multiplicative steps keep x's full relative precision),
    // f increasing in x, safeguarded by a bracket [lo, hi].
    let mut x = u.exp();
    let (mut lo, mut hi) = (0.0_f64, f64::INFINITY);
    for _ in 0..300 {
        let (p, q) = gamma_pq(shape, x);
        let f = if upper { prob - q } else { p - prob };
        if f == 0.0 {
            return x;
        }
        if f < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        // d/d(ln x) P(a, x) = x^a e^-x / Gamma(a) = a * prefactor.
        let step = -f / (shape * poisson_raw(shape, x));
        let mut next = x * step.exp();
        if !next.is_finite() || next <= lo || next >= hi {
            next = match (lo > 0.0, hi.is_finite()) {
                (true, true) => (lo * hi).sqrt(),
                (true, false) => lo * std::f64::consts::E,
                (false, true) => hi / std::f64::consts::E,
                (false, false) => x,
            };
        } else if step.abs() <= 1e-15 {
            return next;
        }
        if lo > 0.0 && hi.is_finite() && hi / lo - 1.0 <= 1e-15 {
            return (lo * hi).sqrt();
        }
        x = next;
    }
    x
}

/// Cornish-Fisher expansion of the Gamma(a, 1) quantile for large a
/// (skewness 2/sqrt(a), excess kurtosis 6/a): absolute error O(1/a).
fn gamma_quantile_cf(a: f64, z: f64) -> f64 {
    let s = a.sqrt();
    let z2 = z * z;
    a + s * z + (z2 - 1.0) / 3.0 + (z2 * z - 7.0 * z) / (36.0 * s)
}

/// Quantile of the chi-square distribution with `df` degrees of freedom
/// (upper tail when `upper`). `NaN` unless df > 0 and 0 < prob < 1.
pub fn chi_square_quantile(prob: f64, df: f64, upper: bool) -> f64 {
    2.0 * gamma_quantile(df / 2.0, prob, upper)
}

/// Exact Poisson limits for an observed/expected ratio (Garwood; the form
/// FunnelPlotR uses): with tail area `tail` on each side and E = `expected`,
/// lower = chi2_tail(2E) / (2E), upper = chi2_{1 - tail}(2(E + 1)) / (2E).
/// `(NaN, NaN)` unless E > 0 and 0 < tail <= 0.5 (a tail of 0.5, coverage
/// 0, is reached by any coverage below about 1e-14 %: both limits are then
/// the medians).
pub fn poisson_ratio_limits(expected: f64, tail: f64) -> (f64, f64) {
    if !(expected > 0.0 && expected.is_finite() && tail > 0.0 && tail <= 0.5) {
        return (f64::NAN, f64::NAN);
    }
    let lower = gamma_quantile(expected, tail, false) / expected;
    let upper = gamma_quantile(expected + 1.0, tail, true) / expected;
    (lower, upper)
}

// ---------------------------------------------------------------------------
// Sample quantiles
// ---------------------------------------------------------------------------

/// Sample quantile of sorted data, R's type 7 (numpy's default "linear"):
/// h = (N - 1) p, x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).
/// `NaN` for empty data or p outside [0, 1].
pub fn quantile_type7(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor();
    let i = lo as usize;
    if i + 1 >= sorted.len() {
        return sorted[sorted.len() - 1];
    }
    sorted[i] + (h - lo) * (sorted[i + 1] - sorted[i])
}

/// ln Gamma(x) (from `statrs`), re-exported for the effect-size corrections.
pub fn ln_gamma_fn(x: f64) -> f64 {
    ln_gamma(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tol: f64) {
        assert!(
            (actual - expected).abs() <= tol,
            "expected {expected}, got {actual} (diff {:e})",
            (actual - expected).abs()
        );
    }

    fn rel_close(actual: f64, expected: f64, tol: f64) {
        let rel = ((actual - expected) / expected).abs();
        assert!(
            rel <= tol,
            "expected {expected}, got {actual} (rel {rel:e})"
        );
    }

    #[test]
    fn normal_quantile_reference_values() {
        // statistics.md: z95 = 1.959963985, z99.8 = 3.090232306.
        close(z_for_coverage(95.0).unwrap(), 1.959_963_984_540_054, 1e-15);
        close(
            z_for_coverage(99.8).unwrap(),
            3.090_232_306_167_813_5,
            1e-14,
        );
        // R qnorm values (AS 241 is R's algorithm for |q| <= 0.425 and beyond).
        close(normal_quantile(0.5), 0.0, 0.0);
        close(normal_quantile(0.975), 1.959_963_984_540_054, 1e-15);
        close(normal_quantile(0.001), -3.090_232_306_167_813_5, 1e-14);
        close(normal_quantile(1e-10), -6.361_340_902_404_056, 1e-9);
        close(normal_quantile(0.8413447460685429), 1.0, 1e-13);
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(-0.1).is_nan());
        assert!(normal_quantile(f64::NAN).is_nan());
        assert!(z_for_coverage(0.0).is_none());
        assert!(z_for_coverage(100.0).is_none());
        assert!(z_for_coverage(f64::NAN).is_none());
    }

    #[test]
    fn normal_quantile_inverts_cdf() {
        for i in 1..1000 {
            let p = f64::from(i) / 1000.0;
            close(normal_cdf(normal_quantile(p)), p, 1e-14);
        }
    }

    #[test]
    fn binomial_matches_direct_sum() {
        // Small n: compare with products of exact binomial coefficients.
        let (n, p) = (20.0, 0.35_f64);
        let mut coef = 1.0_f64;
        let mut cdf = 0.0;
        for k in 0..=20 {
            if k > 0 {
                coef *= (n - f64::from(k) + 1.0) / f64::from(k);
            }
            let pmf = coef * p.powi(k) * (1.0 - p).powi(20 - k);
            cdf += pmf;
            rel_close(binomial_pmf(f64::from(k), n, p), pmf, 1e-13);
            // Both sides accumulate up to 21 rounding errors.
            close(binomial_cdf(f64::from(k), n, p), cdf, 1e-13);
        }
        assert_eq!(binomial_cdf(-1.0, n, p), 0.0);
        assert_eq!(binomial_cdf(20.0, n, p), 1.0);
        assert!(binomial_cdf(3.0, 2.5, p).is_nan());
        assert!(binomial_cdf(3.0, 10.0, 1.5).is_nan());
    }

    #[test]
    fn binomial_large_n_is_a_distribution() {
        // Mean and total probability of Binomial(10^6, 0.3) from the pmf.
        let (n, p) = (1e6, 0.3);
        let (mut total, mut mean) = (0.0, 0.0);
        for k in 295_000..305_000 {
            let pmf = binomial_pmf(f64::from(k), n, p);
            total += pmf;
            mean += f64::from(k) * pmf;
        }
        close(total, 1.0, 1e-12);
        rel_close(mean, 3e5, 1e-12);
        close(
            binomial_cdf(300_000.0, n, p) - binomial_cdf(299_999.0, n, p),
            binomial_pmf(300_000.0, n, p),
            // Two CDFs near 0.5 subtracted: a few ulps of 0.5 each.
            1e-14,
        );
    }

    #[test]
    fn spiegelhalter_interpolated_quantile() {
        // statistics.md (Spiegelhalter 2005 exact binomial): theta0 0.35,
        // n = 20, 95% limits (0.11997, 0.54193).
        close(
            binomial_interpolated_quantile(20.0, 0.35, 0.025) / 20.0,
            0.11997,
            5e-6,
        );
        close(
            binomial_interpolated_quantile(20.0, 0.35, 0.975) / 20.0,
            0.54193,
            5e-6,
        );
    }

    #[test]
    fn binomial_cornish_fisher_matches_exact_where_it_takes_over() {
        // At the switch-over the expansion agrees with the exact sums.
        for &(n, p) in &[(5e8_f64, 0.5_f64), (2e9, 0.1), (1e12, 1e-4), (1e9, 0.9)] {
            let sd = (n * p * (1.0 - p)).sqrt();
            assert!(sd > 9e3 && sd < 2e4, "sd {sd} near the threshold");
            for &prob in &[0.001, 0.025, 0.975, 0.999] {
                let (r, f, pmf) = binomial_quantile_search(n, p, prob);
                let exact = r - (f - prob) / pmf;
                let cf = binomial_interpolated_quantile_cf(n, p, prob);
                close(cf, exact, 1e-3);
            }
        }
    }

    #[test]
    fn incomplete_gamma_reference_values() {
        // P(1, x) = 1 - e^-x.
        for &x in &[0.01_f64, 0.5, 1.0, 2.0, 10.0, 30.0] {
            let (p, q) = gamma_pq(1.0, x);
            close(p, -(-x).exp_m1(), 1e-15);
            rel_close(q, (-x).exp(), 1e-13);
        }
        // P(1/2, k^2/2) = P(|Z| < k): 0.6826894921370859, 0.9544997361036416,
        // 0.9973002039367398 for k = 1, 2, 3.
        close(gamma_pq(0.5, 0.5).0, 0.682_689_492_137_085_9, 1e-14);
        close(gamma_pq(0.5, 2.0).0, 0.954_499_736_103_641_6, 1e-14);
        close(gamma_pq(0.5, 4.5).0, 0.997_300_203_936_739_8, 1e-14);
        // Poisson relation: Q(k + 1, m) = P(Poisson(m) <= k).
        let m = 12.5;
        let mut cdf = 0.0;
        for k in 0..40 {
            cdf += poisson_pmf(f64::from(k), m);
            let (_, q) = gamma_pq(f64::from(k) + 1.0, m);
            close(q, cdf, 1e-13); // the running sum adds its own rounding
        }
        assert!(gamma_pq(0.0, 1.0).0.is_nan());
        assert!(gamma_pq(1.0, -1.0).0.is_nan());
    }

    #[test]
    fn chi_square_quantile_reference_values() {
        // R: qchisq(0.025, 30) = 16.79077, qchisq(0.975, 32) = 49.48044
        // (FunnelPlotR E = 15), qchisq(0.95, 1) = 3.841459.
        close(chi_square_quantile(0.025, 30.0, false), 16.79077, 5e-6);
        close(chi_square_quantile(0.025, 32.0, true), 49.48044, 5e-6);
        close(
            chi_square_quantile(0.95, 1.0, false),
            3.841_458_820_694_124,
            1e-11,
        );
        close(
            chi_square_quantile(0.05, 1.0, true),
            3.841_458_820_694_124,
            1e-11,
        );
        // Tiny shape: P(a, x) ~ x^a / Gamma(a + 1).
        let x = gamma_quantile(0.05, 0.001, false);
        close(gamma_pq(0.05, x).0, 0.001, 1e-15);
        assert!(chi_square_quantile(0.0, 2.0, false).is_nan());
        assert!(chi_square_quantile(0.5, -1.0, false).is_nan());
    }

    #[test]
    fn gamma_quantile_inverts_p_and_q() {
        for &a in &[0.1, 0.7, 1.0, 3.3, 15.0, 16.0, 250.0, 1e4, 1e6, 1e8] {
            for &prob in &[1e-6, 0.001, 0.025, 0.5, 0.975, 0.999] {
                let x = gamma_quantile(a, prob, false);
                let (p, _) = gamma_pq(a, x);
                rel_close(p, prob, 1e-10);
                let x = gamma_quantile(a, prob, true);
                let (_, q) = gamma_pq(a, x);
                rel_close(q, prob, 1e-10);
            }
        }
    }

    #[test]
    fn gamma_cornish_fisher_matches_exact_where_it_takes_over() {
        let a = GAMMA_EXACT_MAX_SHAPE;
        for &prob in &[0.001, 0.025, 0.975, 0.999] {
            let exact = gamma_quantile(a, prob, false);
            let cf = gamma_quantile_cf(a, normal_quantile(prob));
            rel_close(cf, exact, 1e-13);
        }
    }

    #[test]
    fn funnelplotr_poisson_limits() {
        // statistics.md, FunnelPlotR exact Poisson ratio limits, target 1.
        let cases = [
            (15.0, 0.5596924, 1.649348, 0.3862650, 2.082907),
            (20.0, 0.6108260, 1.544419, 0.4479107, 1.902094),
            (30.0, 0.6746958, 1.427562, 0.5289724, 1.702771),
        ];
        for (e, l95, u95, l998, u998) in cases {
            let (l, u) = poisson_ratio_limits(e, tail_for_coverage(95.0).unwrap());
            close(l, l95, 1e-6);
            close(u, u95, 1e-6);
            let (l, u) = poisson_ratio_limits(e, tail_for_coverage(99.8).unwrap());
            close(l, l998, 1e-6);
            close(u, u998, 1e-6);
        }
    }

    #[test]
    fn quantile_type7_matches_r() {
        // R: quantile(c(1, 2, 3, 4, 10), c(0.1, 0.9)) = 1.4, 7.6.
        let x = [1.0, 2.0, 3.0, 4.0, 10.0];
        close(quantile_type7(&x, 0.1), 1.4, 1e-15);
        close(quantile_type7(&x, 0.9), 7.6, 1e-15);
        close(quantile_type7(&x, 0.0), 1.0, 0.0);
        close(quantile_type7(&x, 1.0), 10.0, 0.0);
        close(quantile_type7(&[5.0], 0.1), 5.0, 0.0);
        assert!(quantile_type7(&[], 0.5).is_nan());
    }
}
