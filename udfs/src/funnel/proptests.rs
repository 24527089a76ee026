//! Property tests of the funnel kernels.

use super::funnel_limits::{checked_limits, funnel_limits, Coverage};
use super::funnel_overdispersion::{check_unit, overdispersion, unit_z};
use super::funnel_position::funnel_position;
use super::kind::FunnelKind;
use super::proportion_ci::checked_wilson;
use proptest::prelude::*;

/// Kinds whose limits are a continuous function of n and always contain the
/// target. (`proportion_exact` is a quantile of a discrete distribution: for
/// small n theta0 it can exclude theta0 and widen with n, see
/// `exact_limits_are_ordered_and_bounded`.)
fn smooth_kind() -> impl Strategy<Value = FunnelKind> {
    prop_oneof![
        Just(FunnelKind::Mean),
        Just(FunnelKind::Proportion),
        Just(FunnelKind::ProportionArcsine),
        Just(FunnelKind::Ratio),
        Just(FunnelKind::EffectSize),
    ]
}

fn any_kind() -> impl Strategy<Value = FunnelKind> {
    prop::sample::select(FunnelKind::ALL.to_vec())
}

/// A valid (target, spread) for `kind`.
fn params(kind: FunnelKind) -> BoxedStrategy<(f64, f64)> {
    match kind {
        FunnelKind::Mean => (-100.0..100.0, 0.0..50.0).boxed(),
        FunnelKind::Proportion | FunnelKind::ProportionExact | FunnelKind::ProportionArcsine => {
            (0.0..=1.0, Just(0.0)).boxed()
        }
        FunnelKind::Ratio => (0.05..10.0, Just(0.0)).boxed(),
        FunnelKind::EffectSize => (-3.0..3.0, -1.0..=1.0).boxed(),
    }
}

/// A float that may be anything at all: NaN, infinities, huge, tiny, negative.
fn wild() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(1e300),
        Just(1e-300),
        Just(-1.0),
        Just(1e15),
        -10.0..10.0,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn limits_contain_target_and_narrow_with_n(
        (kind, (target, spread)) in smooth_kind().prop_flat_map(|k| (Just(k), params(k))),
        n1 in 0.01..1e5_f64,
        grow in 1.0..100.0_f64,
        coverage in 50.0..99.99_f64,
        tau2 in prop_oneof![Just(0.0), 0.0..0.5_f64],
    ) {
        let n2 = n1 * grow;
        let (lo1, hi1) = checked_limits(kind, target, n1, spread, coverage, tau2)
            .unwrap().unwrap();
        let (lo2, hi2) = checked_limits(kind, target, n2, spread, coverage, tau2)
            .unwrap().unwrap();
        let eps = 1e-12 * (1.0 + target.abs());
        prop_assert!(lo1 <= target + eps && target <= hi1 + eps,
            "{kind} n {n1}: ({lo1}, {hi1}) excludes {target}");
        prop_assert!(lo2 <= target + eps && target <= hi2 + eps);
        prop_assert!(lo2 >= lo1 - eps, "{kind}: lower fell from {lo1} to {lo2} (n {n1} -> {n2})");
        prop_assert!(hi2 <= hi1 + eps, "{kind}: upper rose from {hi1} to {hi2} (n {n1} -> {n2})");
    }

    #[test]
    fn wider_coverage_gives_wider_limits(
        (kind, (target, spread)) in any_kind().prop_flat_map(|k| (Just(k), params(k))),
        n in 1u32..100_000,
        tau2 in prop_oneof![Just(0.0), 0.0..0.5_f64],
    ) {
        let n = f64::from(n);
        let (l95, u95) = checked_limits(kind, target, n, spread, 95.0, tau2).unwrap().unwrap();
        let (l998, u998) = checked_limits(kind, target, n, spread, 99.8, tau2).unwrap().unwrap();
        prop_assert!(l998 <= l95 && l95 <= u95 && u95 <= u998,
            "{kind}: 99.8% ({l998}, {u998}) does not contain 95% ({l95}, {u95})");
        prop_assert_eq!(funnel_position(target.clamp(l95, u95), l95, u95, l998, u998).as_str(), "inside");
    }

    #[test]
    fn proportion_limits_stay_in_unit_interval(
        kind in prop_oneof![
            Just(FunnelKind::Proportion),
            Just(FunnelKind::ProportionExact),
            Just(FunnelKind::ProportionArcsine),
        ],
        theta in prop_oneof![0.0..=1.0_f64, Just(0.0), Just(1.0), 0.0..1e-6_f64],
        n in prop_oneof![1u64..1000, 1u64..10_000_000_000u64],
        coverage in 0.01..99.99_f64,
        tau2 in prop_oneof![Just(0.0), 0.0..1.0_f64],
    ) {
        let (lo, hi) = checked_limits(kind, theta, n as f64, 0.0, coverage, tau2)
            .unwrap().unwrap();
        prop_assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi),
            "{kind}: ({lo}, {hi}) outside [0, 1]");
        prop_assert!(lo <= hi);
    }

    #[test]
    fn exact_limits_are_ordered_and_bounded(
        theta in 0.0..=1.0_f64,
        n in 1u32..5000,
    ) {
        let n = f64::from(n);
        let c95 = Coverage::from_percent(95.0).unwrap();
        let c998 = Coverage::from_percent(99.8).unwrap();
        let (l95, u95) = funnel_limits(FunnelKind::ProportionExact, theta, n, 0.0, c95, 0.0);
        let (l998, u998) = funnel_limits(FunnelKind::ProportionExact, theta, n, 0.0, c998, 0.0);
        prop_assert!(0.0 <= l998 && l998 <= l95 && l95 <= u95 && u95 <= u998 && u998 <= 1.0);
        // Once n theta0 (1 - theta0) is not tiny the limits contain theta0.
        if n * theta * (1.0 - theta) >= 1.0 {
            prop_assert!(l95 <= theta && theta <= u95, "({l95}, {u95}) excludes {theta}");
        }
    }

    #[test]
    fn no_panic_on_any_input(
        kind in any_kind(),
        target in wild(), n in wild(), spread in wild(), coverage in wild(), tau2 in wild(),
    ) {
        if let Ok(Some((lo, hi))) = checked_limits(kind, target, n, spread, coverage, tau2) {
            prop_assert!(!lo.is_nan() && !hi.is_nan(), "{kind}: NaN limits for valid input");
        }
        if check_unit(kind, spread, n, target, spread).is_ok() && n > 0.0 {
            let (z, w) = unit_z(kind, spread, n, target, spread);
            prop_assert!(!z.is_nan() && !w.is_nan());
        }
        let _ = checked_wilson(target, n, coverage);
        let _ = funnel_position(target, n, spread, coverage, tau2);
    }

    #[test]
    fn overdispersion_is_sane(
        z in prop::collection::vec(-20.0..20.0_f64, 1..60),
        w in 0.1..100.0_f64,
    ) {
        let count = z.len() as f64;
        let mut z = z;
        let r = overdispersion(&mut z, w * count, w * w * count).unwrap();
        prop_assert!(r.phi >= 0.0);
        if r.phi <= 1.0 {
            prop_assert_eq!(r.tau2, Some(0.0));
        } else if count >= 2.0 {
            let t = r.tau2.unwrap();
            prop_assert!(t >= 0.0 && t.is_finite());
        }
    }
}
