//! Funnel kinds: which indicator is compared, its comparison scale (the
//! scale on which the null standard error `s` and the between-unit variance
//! `tau2` add) and the checks its parameters must pass.
//!
//! | kind | value Y | n | spread | scale | null SE s |
//! |---|---|---|---|---|---|
//! | `mean` | unit mean | cases | sigma (SD of all cases) | Y | sigma / sqrt(n) |
//! | `proportion` | proportion | denominator | - | Y | sqrt(theta0 (1 - theta0) / n) |
//! | `proportion_exact` | proportion | denominator (whole) | - | Y | as `proportion` |
//! | `proportion_arcsine` | proportion | denominator | - | asin(sqrt(Y)) | 1 / (2 sqrt(n)) |
//! | `ratio` | observed / expected | expected count E | - | sqrt(Y) | 1 / (2 sqrt(E)) |
//! | `effect_size` | pre-post d | paired cases | r (T1-T2 correlation) | Y | sqrt(2(1 - r)/n + theta0^2/(2n)) |
//!
//! The arcsine scale is FunnelPlotR's for proportions; the square-root scale
//! for ratios is FunnelPlotR's "CQC" method for standardised ratios (its
//! z = 2 (sqrt(O) - sqrt(E)) for target 1).

use std::fmt;

/// The indicator a funnel compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunnelKind {
    /// A mean of individual scores; spread = SD of all cases.
    Mean,
    /// A proportion, normal approximation.
    Proportion,
    /// A proportion, Spiegelhalter's interpolated exact binomial limits.
    ProportionExact,
    /// A proportion on FunnelPlotR's arcsine (variance-stabilised) scale.
    ProportionArcsine,
    /// An observed/expected ratio (standardised ratio), exact Poisson limits.
    Ratio,
    /// A pre-post effect size d; spread = T1-T2 correlation r.
    EffectSize,
}

impl FunnelKind {
    /// Every kind, in documentation order.
    pub const ALL: [FunnelKind; 6] = [
        FunnelKind::Mean,
        FunnelKind::Proportion,
        FunnelKind::ProportionExact,
        FunnelKind::ProportionArcsine,
        FunnelKind::Ratio,
        FunnelKind::EffectSize,
    ];

    /// The SQL name of the kind.
    pub fn name(self) -> &'static str {
        match self {
            FunnelKind::Mean => "mean",
            FunnelKind::Proportion => "proportion",
            FunnelKind::ProportionExact => "proportion_exact",
            FunnelKind::ProportionArcsine => "proportion_arcsine",
            FunnelKind::Ratio => "ratio",
            FunnelKind::EffectSize => "effect_size",
        }
    }

    /// Parses a kind name (ASCII case-insensitive, surrounding spaces ignored).
    pub fn parse(name: &str) -> Option<FunnelKind> {
        let name = name.trim();
        FunnelKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// Whether the kind needs the `spread` argument (sigma or r).
    pub fn uses_spread(self) -> bool {
        matches!(self, FunnelKind::Mean | FunnelKind::EffectSize)
    }

    /// What `spread` means for this kind, for messages.
    pub fn spread_name(self) -> &'static str {
        match self {
            FunnelKind::Mean => "spread (sigma, the SD of all cases)",
            FunnelKind::EffectSize => "spread (r, the T1-T2 correlation)",
            _ => "spread (unused)",
        }
    }

    /// Comma-separated list of every kind name.
    pub fn names() -> String {
        FunnelKind::ALL.map(FunnelKind::name).join(", ")
    }

    /// Transforms a value (or the target) to the comparison scale.
    pub fn to_scale(self, y: f64) -> f64 {
        match self {
            FunnelKind::ProportionArcsine => y.sqrt().asin(),
            FunnelKind::Ratio => y.sqrt(),
            _ => y,
        }
    }

    /// Null standard error of a unit with size `n` on the comparison scale.
    pub fn null_se(self, target: f64, n: f64, spread: f64) -> f64 {
        match self {
            FunnelKind::Mean => spread / n.sqrt(),
            FunnelKind::Proportion | FunnelKind::ProportionExact => {
                (target * (1.0 - target) / n).sqrt()
            }
            FunnelKind::ProportionArcsine | FunnelKind::Ratio => 1.0 / (2.0 * n.sqrt()),
            FunnelKind::EffectSize => {
                (2.0 * (1.0 - spread) / n + target * target / (2.0 * n)).sqrt()
            }
        }
    }

    /// Checks the parameters of a funnel of this kind, returning a message
    /// (without the function name) for the first bad one. `n = 0` is not
    /// checked here: callers return NULL for it.
    pub fn check(self, target: f64, n: f64, spread: f64, tau2: f64) -> Result<(), String> {
        if !(n >= 0.0) || !n.is_finite() {
            return Err(format!("n must be a finite number >= 0, got {n}"));
        }
        if self == FunnelKind::ProportionExact && n.fract() != 0.0 {
            return Err(format!(
                "kind 'proportion_exact' needs a whole-number n (a count of cases), got {n}"
            ));
        }
        if !target.is_finite() {
            return Err(format!("target must be finite, got {target}"));
        }
        match self {
            FunnelKind::Proportion
            | FunnelKind::ProportionExact
            | FunnelKind::ProportionArcsine
                if !(0.0..=1.0).contains(&target) =>
            {
                return Err(format!(
                    "kind '{}' needs a target proportion in [0, 1], got {target}",
                    self.name()
                ));
            }
            FunnelKind::Ratio if !(target > 0.0) => {
                return Err(format!("kind 'ratio' needs a target > 0, got {target}"));
            }
            FunnelKind::Mean if !(spread >= 0.0) || !spread.is_finite() => {
                return Err(format!(
                    "kind 'mean' needs spread (sigma) finite and >= 0, got {spread}"
                ));
            }
            FunnelKind::EffectSize if !(-1.0..=1.0).contains(&spread) => {
                return Err(format!(
                    "kind 'effect_size' needs spread (r) in [-1, 1], got {spread}"
                ));
            }
            _ => {}
        }
        if !(tau2 >= 0.0) || !tau2.is_finite() {
            return Err(format!("tau2 must be finite and >= 0, got {tau2}"));
        }
        Ok(())
    }
}

impl fmt::Display for FunnelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Message for an unknown kind, listing the valid ones.
pub(crate) fn unknown_kind(func: &str, got: &str) -> String {
    format!(
        "{func}: unknown kind '{got}'; expected one of: {}",
        FunnelKind::names()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_ignores_case() {
        for k in FunnelKind::ALL {
            assert_eq!(FunnelKind::parse(k.name()), Some(k));
        }
        assert_eq!(
            FunnelKind::parse(" Proportion_Exact "),
            Some(FunnelKind::ProportionExact)
        );
        assert_eq!(FunnelKind::parse("poisson"), None);
        assert!(unknown_kind("f", "x").contains("mean, proportion, proportion_exact"));
    }

    #[test]
    fn check_rejects_bad_parameters() {
        use FunnelKind::*;
        assert!(Mean.check(15.0, 25.0, 6.0, 0.0).is_ok());
        assert!(Mean.check(15.0, -1.0, 6.0, 0.0).is_err());
        assert!(Mean.check(15.0, f64::NAN, 6.0, 0.0).is_err());
        assert!(Mean.check(15.0, 25.0, -6.0, 0.0).is_err());
        assert!(Proportion.check(1.2, 25.0, 0.0, 0.0).is_err());
        assert!(ProportionExact.check(0.3, 2.5, 0.0, 0.0).is_err());
        assert!(Ratio.check(0.0, 25.0, 0.0, 0.0).is_err());
        assert!(EffectSize.check(0.5, 25.0, 1.5, 0.0).is_err());
        assert!(
            Proportion.check(0.3, 25.0, f64::NAN, 0.0).is_ok(),
            "spread unused"
        );
        assert!(Proportion.check(0.3, 25.0, 0.0, -0.1).is_err());
    }
}
