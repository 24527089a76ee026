//! Item responses for each measure, driven by a young person's latent
//! severity, plus the deliberate item-level flaws.
//!
//! The SDQ and RCADS use a graded response model: the probability of a
//! response at or above category k is `logistic(A * (latent - b_k))`, with
//! per-item difficulty offsets. The constants were calibrated by simulation
//! so that an SDQ parent total difficulties score at T1 has mean about 17
//! and SD about 6, and an RCADS self-report total about 50 (SD about 20).

use super::codes::{
    CvDomain, SdqScale, CV_CF, CV_CF_PREVALENCE, CV_CTX, CV_EDU, CV_PD, CV_PD_MODEL, ESQ_GOOD,
    ESQ_IMPROVE, ESQ_ITEMS, ESQ_OTHER, GBO_ITEMS, GOAL_TEXTS, RCADS_ITEMS, RCADS_SCALES,
    SDQ_IMPACT, SDQ_IMPACT_TEACHER, SDQ_ITEMS,
};
use super::rng::{mix64, Rng};
use super::rows::Rows;
use super::{
    FLAW_MISSING_SCALE_RATE, FLAW_NULL_VALUE_RATE, FLAW_OUT_OF_RANGE_RATE, ITEM_MISSING_RATE,
};

/// Discrimination of the graded response model.
const A: f64 = 1.7;
/// SDQ thresholds (scored direction, 0-1 and 1-2).
const SDQ_B: [f64; 2] = [-0.3, 1.3];
/// Loading of the overall severity on each SDQ scale latent.
const SDQ_LOADING: f64 = 0.5;
/// RCADS thresholds (0-1, 1-2, 2-3).
const RCADS_B: [f64; 3] = [-0.6, 0.7, 1.8];
const RCADS_LOADING: f64 = 0.6;

/// Who completed an SDQ or RCADS, with the informant's latent shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Informant {
    Parent,
    SelfReport,
    Teacher,
}

impl Informant {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Informant::Parent => "parent",
            Informant::SelfReport => "self",
            Informant::Teacher => "teacher",
        }
    }
}

/// One episode's latent state: overall severity and scale profiles.
#[derive(Debug, Clone)]
pub(crate) struct Latent {
    /// Overall severity (about standard normal).
    pub theta: f64,
    /// Person-specific offsets for emotional, conduct, hyperactivity, peer.
    pub sdq_offset: [f64; 4],
    /// Prosocial latent (higher = more prosocial).
    pub prosocial: f64,
    /// Person-specific offsets for the six RCADS scales.
    pub rcads_offset: [f64; 6],
    /// Improvement between T1 and T2 in latent units (positive = better).
    pub improvement: f64,
}

/// Per-item difficulty offsets, fixed (not seed-dependent).
#[derive(Debug, Clone)]
pub(crate) struct ItemOffsets {
    sdq: [f64; 25],
    rcads: [f64; 47],
    rcads_scale: [u8; 47],
}

impl ItemOffsets {
    pub(crate) fn new() -> ItemOffsets {
        let off = |i: u64| (mix64(0xC0FF_EE00 + i) >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let mut rcads_scale = [0u8; 47];
        for (s, items) in RCADS_SCALES.iter().enumerate() {
            for &i in *items {
                rcads_scale[i - 1] = s as u8;
            }
        }
        ItemOffsets {
            sdq: std::array::from_fn(|i| off(i as u64)),
            rcads: std::array::from_fn(|i| off(100 + i as u64)),
            rcads_scale,
        }
    }
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// One draw from a graded response model: the number of thresholds passed.
fn graded(rng: &mut Rng, latent: f64, thresholds: &[f64], offset: f64) -> i32 {
    let u = rng.f64();
    let mut y = 0;
    for b in thresholds {
        if u < logistic(A * (latent - b - offset)) {
            y += 1;
        } else {
            break;
        }
    }
    y
}

fn clamp_round(x: f64, lo: i32, hi: i32) -> i32 {
    (x.round() as i32).clamp(lo, hi)
}

/// Scratch buffer for one questionnaire's (item, value) pairs, so flaws can
/// be applied before the rows are written.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    items: Vec<(&'static str, Option<i32>)>,
    /// For each entry of `items`, the scale it belongs to (for the
    /// beyond-prorating flaw), or `u8::MAX` if not part of a scale.
    scale: Vec<u8>,
}

impl Scratch {
    fn clear(&mut self) {
        self.items.clear();
        self.scale.clear();
    }

    fn push(&mut self, item: &'static str, value: i32, scale: u8) {
        self.items.push((item, Some(value)));
        self.scale.push(scale);
    }

    /// Apply the item-level flaws and ordinary missingness, then write rows.
    /// Scored items come first in the buffer; `bad` are out-of-range values
    /// to pick from; `n_scales` the number of scales the missing-scale flaw
    /// may hit.
    fn flush(&mut self, rng: &mut Rng, rows: &mut Rows, qid: i64, bad: &[i32], n_scales: u8) {
        debug_assert!(self.items.len() <= 64);
        let n_scored = self.scale.iter().take_while(|s| **s != u8::MAX).count();
        let mut drop: u64 = 0;
        if rng.chance(ITEM_MISSING_RATE) {
            drop |= 1 << rng.below(n_scored);
        }
        if rng.chance(FLAW_MISSING_SCALE_RATE) {
            // Three items of one scale missing: beyond the prorating rule.
            let s = rng.below(n_scales as usize) as u8;
            let size = self.scale.iter().filter(|x| **x == s).count();
            let start = rng.below(size);
            let members = self.scale.iter().enumerate().filter(|(_, x)| **x == s);
            for (k, (i, _)) in members.enumerate() {
                if (k + size - start) % size < 3 {
                    drop |= 1 << i;
                }
            }
        }
        if rng.chance(FLAW_OUT_OF_RANGE_RATE) {
            let i = rng.below(n_scored);
            self.items[i].1 = Some(bad[rng.below(bad.len())]);
            drop &= !(1 << i);
        }
        if rng.chance(FLAW_NULL_VALUE_RATE) {
            let i = rng.below(n_scored);
            self.items[i].1 = None;
            drop &= !(1 << i);
        }
        for (i, (item, value)) in self.items.iter().enumerate() {
            if drop & (1 << i) == 0 {
                rows.push_item(qid, item, *value, None);
            }
        }
    }
}

/// Generates item rows for each measure.
#[derive(Debug)]
pub(crate) struct Measures<'a> {
    pub offsets: &'a ItemOffsets,
    pub scratch: Scratch,
}

impl Measures<'_> {
    /// An SDQ (25 items, impact supplement, follow-up extras at T2).
    pub(crate) fn sdq(
        &mut self,
        rng: &mut Rng,
        rows: &mut Rows,
        qid: i64,
        informant: Informant,
        followup: bool,
        lat: &Latent,
    ) {
        let shift = match informant {
            Informant::Parent => 0.2,
            Informant::SelfReport => 0.2,
            Informant::Teacher => -0.35,
        };
        let theta = if followup {
            lat.theta - lat.improvement
        } else {
            lat.theta
        };
        let change = if followup { lat.improvement } else { 0.0 };
        let scale_latent: [f64; 4] =
            std::array::from_fn(|s| shift + SDQ_LOADING * lat.theta + lat.sdq_offset[s] - change);
        self.scratch.clear();
        for (i, (code, scale, reverse)) in SDQ_ITEMS.iter().enumerate() {
            let off = self.offsets.sdq[i];
            let raw = if *scale == SdqScale::Prosocial {
                graded(rng, lat.prosocial + 0.3 * change, &[-1.6, -0.1], off)
            } else {
                let scored = graded(rng, scale_latent[*scale as usize], &SDQ_B, off);
                if *reverse {
                    2 - scored
                } else {
                    scored
                }
            };
            self.scratch.push(code, raw, *scale as u8);
        }
        let ebddiff = clamp_round(1.9 + 0.5 * theta + 0.5 * rng.normal(), 0, 3);
        self.scratch.push("ebddiff", ebddiff, u8::MAX);
        if ebddiff > 0 {
            let impact: &[&'static str] = if informant == Informant::Teacher {
                &SDQ_IMPACT_TEACHER
            } else {
                &SDQ_IMPACT
            };
            for item in impact {
                let v = clamp_round(1.2 + 0.7 * theta + 0.8 * rng.normal(), 0, 3);
                self.scratch.push(item, v, u8::MAX);
            }
        }
        if followup {
            let better = clamp_round(2.6 + 1.5 * lat.improvement + 0.8 * rng.normal(), 0, 4);
            let helpful = clamp_round(2.0 + lat.improvement + 0.7 * rng.normal(), 0, 3);
            self.scratch.push("better", better, u8::MAX);
            self.scratch.push("helpful", helpful, u8::MAX);
        }
        self.scratch.flush(rng, rows, qid, &[3, 7, -1], 5);
    }

    /// An RCADS (self or parent), 47 items.
    pub(crate) fn rcads(
        &mut self,
        rng: &mut Rng,
        rows: &mut Rows,
        qid: i64,
        informant: Informant,
        followup: bool,
        lat: &Latent,
    ) {
        let shift = if informant == Informant::Parent {
            -0.15
        } else {
            0.05
        };
        let change = if followup { lat.improvement } else { 0.0 };
        self.scratch.clear();
        for (i, code) in RCADS_ITEMS.iter().enumerate() {
            let s = self.offsets.rcads_scale[i] as usize;
            let latent = shift + RCADS_LOADING * lat.theta + lat.rcads_offset[s] - change;
            let v = graded(rng, latent, &RCADS_B, self.offsets.rcads[i]);
            self.scratch.push(code, v, s as u8);
        }
        self.scratch.flush(rng, rows, qid, &[4, 9, -1], 6);
    }

    /// Current View (clinician): problem descriptors, complexity factors,
    /// context and education ratings; NULL where "not known".
    pub(crate) fn current_view(
        &mut self,
        rng: &mut Rng,
        rows: &mut Rows,
        qid: i64,
        lat: &Latent,
        later: bool,
    ) {
        let theta = if later {
            lat.theta - lat.improvement
        } else {
            lat.theta
        };
        let rate = |rng: &mut Rng, latent: f64, threshold: f64| -> Option<i32> {
            if rng.chance(0.04) {
                return None;
            }
            let z = latent + rng.normal() - threshold;
            Some(if z < 0.0 {
                0
            } else if z < 0.8 {
                1
            } else if z < 1.6 {
                2
            } else {
                3
            })
        };
        for (code, (domain, threshold)) in CV_PD.iter().zip(CV_PD_MODEL) {
            let latent = match domain {
                CvDomain::Emotional => 0.6 * theta + lat.sdq_offset[0],
                CvDomain::Conduct => 0.6 * theta + lat.sdq_offset[1],
                CvDomain::Hyperactivity => 0.6 * theta + lat.sdq_offset[2],
                CvDomain::Peer => 0.6 * theta + lat.sdq_offset[3],
                CvDomain::General => 0.4 * theta,
            };
            let v = rate(rng, latent, threshold);
            rows.push_item(qid, code, v, None);
        }
        for (code, p) in CV_CF.iter().zip(CV_CF_PREVALENCE) {
            let v = if rng.chance(0.08) {
                None
            } else {
                Some(i32::from(rng.chance(p)))
            };
            rows.push_item(qid, code, v, None);
        }
        for (code, threshold) in CV_CTX.iter().zip([0.5, 0.6, 1.2, 1.0]) {
            let v = rate(rng, 0.5 * theta, threshold);
            rows.push_item(qid, code, v, None);
        }
        for (code, threshold) in CV_EDU.iter().zip([0.9, 1.0]) {
            let v = rate(rng, 0.5 * theta, threshold);
            rows.push_item(qid, code, v, None);
        }
    }

    /// ESQ: items 1-12 (2/1/0, 9 = don't know) and occasional free text.
    pub(crate) fn esq(&mut self, rng: &mut Rng, rows: &mut Rows, qid: i64, lat: &Latent) {
        let good = (0.68 + 0.15 * lat.improvement).clamp(0.3, 0.9);
        for (i, code) in ESQ_ITEMS.iter().enumerate() {
            let p2 = if (7..10).contains(&i) {
                good - 0.1
            } else {
                good
            };
            let u = rng.f64();
            let v = if u < 0.03 {
                9
            } else if u < 0.03 + p2 {
                2
            } else if u < 0.96 {
                1
            } else {
                0
            };
            rows.push_item(qid, code, Some(v), None);
        }
        for (code, texts, p) in [
            ("esq_good", ESQ_GOOD, 0.3),
            ("esq_improve", ESQ_IMPROVE, 0.2),
            ("esq_other", ESQ_OTHER, 0.08),
        ] {
            if rng.chance(p) {
                rows.push_item(qid, code, None, Some(texts[rng.below(texts.len())]));
            }
        }
    }
}

/// Goal Based Outcomes for one referral: the goals' start ratings and gains,
/// rated at several occasions.
#[derive(Debug, Clone)]
pub(crate) struct Goals {
    start: [f64; 3],
    gain: [f64; 3],
    text: [usize; 3],
    count: usize,
}

impl Goals {
    pub(crate) fn new(rng: &mut Rng, lat: &Latent) -> Goals {
        let count = rng.pick(&[(1usize, 0.25), (2, 0.35), (3, 0.4)]);
        let first = rng.below(GOAL_TEXTS.len());
        Goals {
            start: std::array::from_fn(|_| 2.5 + 1.2 * rng.normal()),
            gain: std::array::from_fn(|_| {
                3.2 + 4.0 * (lat.improvement - 0.25) + 1.5 * rng.normal()
            }),
            text: std::array::from_fn(|k| (first + 5 * k) % GOAL_TEXTS.len()),
            count,
        }
    }

    /// One rating occasion at fraction `t` (0 = first, 1 = last) of the way
    /// through treatment; the first rating carries the goal descriptions.
    pub(crate) fn rate(&self, rng: &mut Rng, rows: &mut Rows, qid: i64, t: f64, first: bool) {
        for k in 0..self.count {
            let v = clamp_round(self.start[k] + self.gain[k] * t + 0.8 * rng.normal(), 0, 10);
            let text = first.then(|| GOAL_TEXTS[self.text[k]]);
            rows.push_item(qid, GBO_ITEMS[k], Some(v), text);
        }
    }
}
