//! The simulated world: partnerships and services (drawn once from the
//! seed), then each referral with its person, contacts and questionnaires,
//! each drawn from its own random stream keyed by the referral's index.

use super::codes::{
    ATTENDANCE_WEIGHTS, CLOSURE_REASON_WEIGHTS, COLLABORATIVES, ETHNICITY_WEIGHTS, PLACE_PREFIXES,
    PLACE_SUFFIXES, REFERRAL_SOURCE_WEIGHTS,
};
use super::dates::{age_years, first_of_month};
use super::measures::{Goals, Informant, ItemOffsets, Latent, Measures, Scratch};
use super::rng::{Cumulative, Domain, Rng};
use super::rows::Rows;
use super::{
    DATA_END, DATA_START, FLAW_BEFORE_REFERRAL_RATE, FLAW_CONTACT_AFTER_CLOSURE_RATE,
    FLAW_OPEN_NO_CONTACTS_RATE, FLAW_T2_AFTER_CLOSURE_RATE, REREFERRAL_RATE,
};
use crate::contract;
use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use std::ops::Range;
use std::sync::Arc;

/// Share of referrals the generator means to close; cases whose planned
/// closure falls after the data end stay open, which brings the closed
/// share down to about 60%.
const CLOSE_INTENT: f64 = 0.74;
/// A referral counts as stale (and may carry the no-contact flaw) when it
/// is older than this many days at the data end.
pub(crate) const STALE_DAYS: i32 = 180;
/// Age distribution at referral, years 4..=18 (relative weights).
const AGE_WEIGHTS: [(i32, f64); 15] = [
    (4, 2.0),
    (5, 3.0),
    (6, 4.0),
    (7, 5.0),
    (8, 6.0),
    (9, 7.0),
    (10, 8.0),
    (11, 9.0),
    (12, 10.0),
    (13, 12.0),
    (14, 13.0),
    (15, 13.0),
    (16, 12.0),
    (17, 9.0),
    (18, 3.0),
];
/// Oldest age in days (true birth date) a referral may have: 19 years
/// less some slack so that a month-precision birth date still gives 18.
const MAX_AGE_DAYS: i32 = 19 * 365 + 4 - 40;

/// A partnership and what makes it differ from others.
#[derive(Debug, Clone)]
pub(crate) struct Partnership {
    pub id: i64,
    pub name: String,
    pub collaborative: &'static str,
    /// Scales the chance that a measure is collected at all (0.45-1).
    pub completeness: f64,
    /// Scales the chance that a follow-up (T2) is collected (0.5-1).
    pub followup: f64,
    /// Mean latent improvement between T1 and T2 (the true effect).
    pub effect: f64,
    /// Median days from referral to first contact.
    pub wait_median: f64,
    services: Vec<usize>,
    service_pick: Cumulative,
}

#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub id: i64,
    pub partnership_id: i64,
    pub name: String,
    pub service_type: Option<&'static str>,
}

/// Everything fixed before the referrals are drawn.
#[derive(Debug)]
pub(crate) struct World {
    seed: u64,
    pub partnerships: Vec<Partnership>,
    pub services: Vec<Service>,
    partnership_pick: Cumulative,
    offsets: ItemOffsets,
}

/// Where and when a referral happens, before re-referrals are resolved.
#[derive(Debug, Clone, Copy)]
struct Header {
    partnership: usize,
    service: usize,
    date: i32,
    /// Index of an earlier referral whose person this one re-refers.
    origin: Option<u64>,
}

/// A young person.
#[derive(Debug, Clone)]
struct Person {
    id: i64,
    /// True birth date (what ages are computed from).
    birth: i32,
    /// Birth date as recorded: exact, first of month, or NULL.
    birth_recorded: Option<i32>,
    gender: Option<&'static str>,
    ethnicity: Option<&'static str>,
    female: bool,
    severity: f64,
}

/// A completion occasion: a date and, when at a contact, its id.
#[derive(Debug, Clone, Copy)]
struct Occasion {
    contact: Option<i64>,
    date: i32,
}

/// The person id of the person first referred at `index`: a bijection of
/// the 32-bit index, so ids look pseudonymised and never equal referral ids
/// by construction.
pub(crate) fn person_id(index: u64) -> i64 {
    ((index.wrapping_mul(0x9E37_79B1) & 0xFFFF_FFFF) + 1) as i64
}

/// The referral id of the referral at `index`.
pub(crate) fn referral_id(index: u64) -> i64 {
    index as i64 + 1
}

/// Contact ids are `referral_id * 32 + k` (k < 32).
pub(crate) const CONTACTS_PER_REFERRAL: i64 = 32;
/// Questionnaire ids are `referral_id * 64 + k` (k < 64).
pub(crate) const QUESTIONNAIRES_PER_REFERRAL: i64 = 64;

impl World {
    /// Draw the partnerships and services for `partnerships` partnerships
    /// and a run of `referrals` referrals (which sets how small the tiny
    /// partnerships' shares are).
    pub(crate) fn new(seed: u64, partnerships: u32, referrals: u64) -> World {
        let mut rng = Rng::stream(seed, Domain::Partnerships, 0);
        let n = partnerships as usize;

        // Collaboratives: 3 to 6 of the named regions, in a seeded order.
        let mut collabs = COLLABORATIVES.to_vec();
        shuffle(&mut rng, &mut collabs);
        collabs.truncate(rng.range(3, 6) as usize);

        // Place names: a seeded permutation of prefix x suffix.
        let mut places: Vec<String> = PLACE_PREFIXES
            .iter()
            .flat_map(|p| PLACE_SUFFIXES.iter().map(move |s| format!("{p}{s}")))
            .collect();
        shuffle(&mut rng, &mut places);

        // Sizes: lognormal weights; a few tiny partnerships get an expected
        // 4-9 referrals whatever the run size.
        let n_tiny = if n >= 8 { (n / 15).max(1) } else { 0 };
        let mut tiny = vec![false; n];
        let mut order: Vec<usize> = (0..n).collect();
        shuffle(&mut rng, &mut order);
        for &i in order.iter().take(n_tiny) {
            tiny[i] = true;
        }
        let raw: Vec<f64> = (0..n).map(|_| (1.1 * rng.normal()).exp()).collect();
        let tiny_share: Vec<f64> = (0..n)
            .map(|_| rng.range(4, 9) as f64 / referrals.max(1) as f64)
            .collect();
        let tiny_total: f64 = (0..n).filter(|&i| tiny[i]).map(|i| tiny_share[i]).sum();
        let tiny_total = tiny_total.min(0.5);
        let big_total: f64 = (0..n).filter(|&i| !tiny[i]).map(|i| raw[i]).sum();
        let weights: Vec<f64> = (0..n)
            .map(|i| {
                if tiny[i] {
                    tiny_share[i]
                } else {
                    raw[i] / big_total * (1.0 - tiny_total)
                }
            })
            .collect();

        let mut services = Vec::new();
        let mut parts = Vec::with_capacity(n);
        for i in 0..n {
            let id = i as i64 + 1;
            let place = if i < places.len() {
                places[i].clone()
            } else {
                format!("{} {}", places[i % places.len()], i / places.len() + 1)
            };
            let collaborative = if i < collabs.len() {
                collabs[i]
            } else {
                collabs[rng.below(collabs.len())]
            };
            let n_services = rng.pick(&[
                (1usize, 0.15),
                (2, 0.25),
                (3, 0.25),
                (4, 0.15),
                (5, 0.1),
                (6, 0.1),
            ]);
            let mut idx = Vec::with_capacity(n_services);
            let mut sweights = Vec::with_capacity(n_services);
            let mut seen = [0u32; 4];
            for k in 0..n_services {
                let kind = if k == 0 {
                    0
                } else {
                    rng.pick(&[(0usize, 0.3), (1, 0.4), (2, 0.3)])
                };
                let kind = if rng.chance(0.03) { 3 } else { kind };
                seen[kind] += 1;
                let (label, service_type) = match kind {
                    0 => ("Specialist CAMHS", Some("specialist_camhs")),
                    1 => ("Young People's Counselling", Some("voluntary_sector")),
                    2 => ("Mental Health Support Team", Some("school_based")),
                    _ => ("Wellbeing Service", None),
                };
                let name = if seen[kind] == 1 {
                    format!("{place} {label}")
                } else {
                    format!("{place} {label} {}", seen[kind])
                };
                idx.push(services.len());
                let size = if kind == 0 { 2.0 } else { 1.0 };
                sweights.push(size * (0.7 * rng.normal()).exp());
                services.push(Service {
                    id: services.len() as i64 + 1,
                    partnership_id: id,
                    name,
                    service_type,
                });
            }
            parts.push(Partnership {
                id,
                name: format!("{place} Partnership"),
                collaborative,
                completeness: 0.45 + 0.55 * rng.f64().sqrt(),
                followup: 0.5 + 0.5 * rng.f64(),
                effect: 0.25 + 0.12 * rng.normal(),
                wait_median: rng.range(14, 60) as f64,
                services: idx,
                service_pick: Cumulative::new(&sweights),
            });
        }
        World {
            seed,
            partnerships: parts,
            services,
            partnership_pick: Cumulative::new(&weights),
            offsets: ItemOffsets::new(),
        }
    }

    /// The partnership table.
    pub(crate) fn partnership_batch(&self, range: Range<usize>) -> Result<RecordBatch, ArrowError> {
        let ps = &self.partnerships[range];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(ps.iter().map(|p| p.id))),
            Arc::new(StringArray::from_iter_values(ps.iter().map(|p| &p.name))),
            Arc::new(StringArray::from_iter_values(
                ps.iter().map(|p| p.collaborative),
            )),
        ];
        RecordBatch::try_new(contract::PARTNERSHIP.schema(), columns)
    }

    /// The service table.
    pub(crate) fn service_batch(&self, range: Range<usize>) -> Result<RecordBatch, ArrowError> {
        let ss = &self.services[range];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(ss.iter().map(|s| s.id))),
            Arc::new(Int64Array::from_iter_values(
                ss.iter().map(|s| s.partnership_id),
            )),
            Arc::new(StringArray::from_iter_values(ss.iter().map(|s| &s.name))),
            Arc::new(StringArray::from_iter(ss.iter().map(|s| s.service_type))),
        ];
        RecordBatch::try_new(contract::SERVICE.schema(), columns)
    }

    /// A referral's partnership, service, date and re-referral candidate,
    /// from its own stream (no recursion).
    fn header(&self, index: u64) -> Header {
        let mut rng = Rng::stream(self.seed, Domain::Header, index);
        let partnership = self.partnership_pick.sample(&mut rng);
        let p = &self.partnerships[partnership];
        let service = p.services[p.service_pick.sample(&mut rng)];
        // Slightly more referrals in later years (growing demand).
        let span = (DATA_END - DATA_START + 1) as f64;
        let date = DATA_START + (span * rng.f64().powf(0.85)) as i32;
        let origin = if index > 0 && rng.chance(REREFERRAL_RATE) {
            Some(index - rng.range(1, index.min(20_000) as i64) as u64)
        } else {
            None
        };
        Header {
            partnership,
            service,
            date,
            origin,
        }
    }

    /// The person first referred at `index`, on `date`.
    fn person(&self, index: u64, date: i32) -> Person {
        let mut rng = Rng::stream(self.seed, Domain::Person, index);
        let age = rng.pick(&AGE_WEIGHTS);
        let age_days = ((f64::from(age) + 0.1 + 0.8 * rng.f64()) * 365.2425) as i32;
        let birth = date - age_days;
        let birth_recorded = rng.pick(&[(0u8, 0.85), (1, 0.12), (2, 0.03)]);
        let birth_recorded = match birth_recorded {
            0 => Some(birth),
            1 => Some(first_of_month(birth)),
            _ => None,
        };
        // Boys outnumber girls among young children, girls among teenagers.
        let p_female = if age <= 10 {
            0.36
        } else if age <= 12 {
            0.5
        } else {
            0.63
        };
        let female = rng.chance(p_female);
        let gender = if rng.chance(0.02) {
            None
        } else if rng.chance(0.02) {
            Some(if rng.chance(0.25) { "9" } else { "X" })
        } else if female {
            Some("2")
        } else {
            Some("1")
        };
        let ethnicity = if rng.chance(0.03) {
            None
        } else {
            Some(rng.pick(ETHNICITY_WEIGHTS))
        };
        Person {
            id: person_id(index),
            birth,
            birth_recorded,
            gender,
            ethnicity,
            female,
            severity: rng.normal(),
        }
    }

    /// Generate the referrals with indexes in `range`, appending their rows.
    pub(crate) fn generate(&self, range: Range<u64>, rows: &mut Rows) {
        let mut measures = Measures {
            offsets: &self.offsets,
            scratch: Scratch::default(),
        };
        for index in range {
            self.referral(index, rows, &mut measures);
        }
    }

    fn referral(&self, index: u64, rows: &mut Rows, measures: &mut Measures<'_>) {
        let mut h = self.header(index);
        let mut rng = Rng::stream(self.seed, Domain::Referral, index);

        // Resolve a re-referral: the origin must be a first referral, and
        // the person must still be under 19 on the new date.
        let mut person = None;
        if let Some(origin) = h.origin {
            let o = self.header(origin);
            let gap = rng.range(60, 720) as i32;
            if o.origin.is_none() {
                let date = if h.date > o.date + 60 {
                    h.date
                } else {
                    o.date + gap
                };
                let p = self.person(origin, o.date);
                if date <= DATA_END && date - p.birth <= MAX_AGE_DAYS {
                    h = Header {
                        partnership: o.partnership,
                        service: o.service,
                        date,
                        origin: Some(origin),
                    };
                    person = Some(p);
                }
            }
        }
        let first_referral = person.is_none();
        let person = match person {
            Some(p) => p,
            None => {
                h.origin = None;
                self.person(index, h.date)
            }
        };
        if first_referral {
            rows.person_id.append_value(person.id);
            rows.birth_date.append_option(person.birth_recorded);
            rows.gender.append_option(person.gender);
            rows.ethnicity.append_option(person.ethnicity);
        }

        let part = &self.partnerships[h.partnership];
        let rid = referral_id(index);
        let date = h.date;
        let age = age_years(person.birth, date);

        // Timeline.
        let source = if rng.chance(0.04) {
            None
        } else {
            Some(rng.pick(REFERRAL_SOURCE_WEIGHTS))
        };
        let wait = ((part.wait_median * (0.6 * rng.normal()).exp()).round() as i32).clamp(3, 150);
        let duration = ((150.0 * (0.6 * rng.normal()).exp()).round() as i32)
            .clamp(30, 545)
            .max(wait + 7);
        let intent_close = rng.chance(CLOSE_INTENT);
        let stale = date < DATA_END - STALE_DAYS;
        let no_contacts = stale && rng.chance(FLAW_OPEN_NO_CONTACTS_RATE);
        let closure = (intent_close && !no_contacts && date + duration <= DATA_END)
            .then_some(date + duration);
        let closure_reason = closure.and_then(|_| {
            if rng.chance(0.03) {
                None
            } else {
                Some(rng.pick(CLOSURE_REASON_WEIGHTS))
            }
        });
        rows.referral_id.append_value(rid);
        rows.referral_person_id.append_value(person.id);
        rows.service_id.append_value(self.services[h.service].id);
        rows.referral_date.append_value(date);
        rows.referral_source.append_option(source);
        rows.closure_date.append_option(closure);
        rows.closure_reason.append_option(closure_reason);

        // Contacts.
        let planned = if no_contacts {
            0
        } else {
            ((6.0 * (0.7 * rng.normal()).exp()).round() as i32).clamp(1, 20)
        };
        let window_end = closure.unwrap_or(DATA_END);
        let spacing = (f64::from(duration - wait) / f64::from(planned.max(1))).max(4.0);
        let mut attended: Vec<Occasion> = Vec::with_capacity(planned as usize);
        let mut day = date + wait;
        let mut k: i64 = 0;
        while (k as i32) < planned && day <= window_end {
            let attendance = rng.pick(ATTENDANCE_WEIGHTS);
            let is_attended = attendance == "5" || attendance == "6";
            let direct = if is_attended {
                rng.chance(0.88)
            } else {
                rng.chance(0.95)
            };
            let cid = rid * CONTACTS_PER_REFERRAL + k;
            push_contact(rows, cid, rid, day, attendance, direct);
            if is_attended {
                attended.push(Occasion {
                    contact: Some(cid),
                    date: day,
                });
            }
            k += 1;
            day += ((spacing * (0.5 + rng.f64())).round() as i32).max(1);
        }
        if let Some(c) = closure {
            if rng.chance(FLAW_CONTACT_AFTER_CLOSURE_RATE) {
                let day = c + rng.range(1, 60) as i32;
                if day <= DATA_END {
                    let cid = rid * CONTACTS_PER_REFERRAL + k;
                    push_contact(rows, cid, rid, day, "5", true);
                }
            }
        }

        // Latent state for this episode.
        let theta = 0.85 * person.severity + 0.53 * rng.normal();
        let emo_bias = if person.female && age >= 12 {
            0.25
        } else if !person.female && age < 11 {
            -0.2
        } else {
            0.0
        };
        let lat = Latent {
            theta,
            sdq_offset: [
                emo_bias + 0.5 * rng.normal(),
                -0.8 * emo_bias + 0.5 * rng.normal(),
                -0.8 * emo_bias + 0.5 * rng.normal(),
                0.5 * rng.normal(),
            ],
            prosocial: 0.3 - 0.3 * theta + 0.5 * rng.normal(),
            rcads_offset: std::array::from_fn(|s| {
                let bias = if s == 5 { emo_bias } else { 0.5 * emo_bias };
                bias + 0.5 * rng.normal()
            }),
            improvement: part.effect + 0.4 * rng.normal(),
        };

        // Occasions: T1 near the first attended contact, T2 at the last.
        let Some(&first) = attended.first() else {
            return;
        };
        let mut t1 = if rng.chance(0.85) {
            first
        } else {
            Occasion {
                contact: None,
                date: (first.date - rng.range(0, 14) as i32).max(date),
            }
        };
        if rng.chance(FLAW_BEFORE_REFERRAL_RATE) {
            t1 = Occasion {
                contact: None,
                date: date - rng.range(1, 30) as i32,
            };
        }
        let last = *attended.last().unwrap_or(&first);
        let mut t2 = (attended.len() >= 2 && last.date >= first.date + 28).then_some(last);
        if let (Some(c), Some(_)) = (closure, t2) {
            if rng.chance(FLAW_T2_AFTER_CLOSURE_RATE) {
                let day = c + rng.range(1, 30) as i32;
                if day <= DATA_END {
                    t2 = Some(Occasion {
                        contact: None,
                        date: day,
                    });
                }
            }
        }

        let q = part.completeness;
        let p_t2 = 0.78 * part.followup;
        let mut qs = Questionnaires { rid, next: 0, rows };
        let mut t2_list: Vec<(&'static str, Informant)> = Vec::new();
        let mut plan = |rng: &mut Rng, measure: &'static str, informant, eligible: bool, p: f64| {
            let t1_done = eligible && rng.chance(p);
            if t1_done && t2.is_some() && rng.chance(p_t2) {
                t2_list.push((measure, informant));
            }
            t1_done
        };
        let sdq_parent = plan(&mut rng, "SDQ", Informant::Parent, age <= 17, 0.92 * q);
        let sdq_self = plan(&mut rng, "SDQ", Informant::SelfReport, age >= 11, 0.7 * q);
        let sdq_teacher = plan(&mut rng, "SDQ", Informant::Teacher, age <= 17, 0.12 * q);
        let rcads_self = plan(&mut rng, "RCADS", Informant::SelfReport, age >= 8, 0.55 * q);
        let rcads_parent = plan(&mut rng, "RCADS", Informant::Parent, age <= 17, 0.25 * q);
        for (done, informant) in [
            (sdq_parent, Informant::Parent),
            (sdq_self, Informant::SelfReport),
            (sdq_teacher, Informant::Teacher),
        ] {
            if done {
                let qid = qs.push(t1, "SDQ", informant.code(), Some("baseline"));
                measures.sdq(&mut rng, qs.rows, qid, informant, false, &lat);
            }
        }
        for (done, informant) in [
            (rcads_self, Informant::SelfReport),
            (rcads_parent, Informant::Parent),
        ] {
            if done {
                let qid = qs.push(t1, "RCADS", informant.code(), None);
                measures.rcads(&mut rng, qs.rows, qid, informant, false, &lat);
            }
        }
        if rng.chance(0.85 * q) {
            let qid = qs.push(first, "CURRENT_VIEW", "clinician", None);
            measures.current_view(&mut rng, qs.rows, qid, &lat, false);
        }

        // Goal Based Outcomes: rated at several attended contacts.
        if attended.len() >= 2 && rng.chance(0.55 * q) {
            let goals = Goals::new(&mut rng, &lat);
            let gbo_informant = if age >= 11 { "self" } else { "parent" };
            let mut i = rng.range(0, 1) as usize;
            let start = attended[i.min(attended.len() - 1)].date;
            let end = last.date.max(start + 1);
            let mut n = 0;
            while i < attended.len() && n < 8 {
                let occ = attended[i];
                let t = f64::from(occ.date - start) / f64::from(end - start);
                let qid = qs.push(occ, "GBO", gbo_informant, None);
                goals.rate(&mut rng, qs.rows, qid, t.clamp(0.0, 1.0), n == 0);
                n += 1;
                i += rng.range(1, 3) as usize;
            }
        }

        if let Some(t2) = t2 {
            for (measure, informant) in &t2_list {
                if *measure == "SDQ" {
                    let qid = qs.push(t2, "SDQ", informant.code(), Some("followup"));
                    measures.sdq(&mut rng, qs.rows, qid, *informant, true, &lat);
                } else {
                    let qid = qs.push(t2, "RCADS", informant.code(), None);
                    measures.rcads(&mut rng, qs.rows, qid, *informant, true, &lat);
                }
            }
            if closure.is_some() && rng.chance(0.35 * q) {
                let qid = qs.push(last, "CURRENT_VIEW", "clinician", None);
                measures.current_view(&mut rng, qs.rows, qid, &lat, true);
            }
        }

        // ESQ at closure for some closed cases.
        if let Some(c) = closure {
            if rng.chance(0.45 * q) {
                let occ = if rng.chance(0.7) {
                    last
                } else {
                    Occasion {
                        contact: None,
                        date: c,
                    }
                };
                if age <= 17 && rng.chance(0.75) {
                    let qid = qs.push(occ, "ESQ", "parent", Some("parent"));
                    measures.esq(&mut rng, qs.rows, qid, &lat);
                }
                if age >= 9 && rng.chance(0.6) {
                    let version = if age <= 11 {
                        "child_9_11"
                    } else {
                        "young_person_12_18"
                    };
                    let qid = qs.push(occ, "ESQ", "self", Some(version));
                    measures.esq(&mut rng, qs.rows, qid, &lat);
                }
            }
        }
    }
}

fn push_contact(rows: &mut Rows, cid: i64, rid: i64, day: i32, attendance: &str, direct: bool) {
    rows.contact_id.append_value(cid);
    rows.contact_referral_id.append_value(rid);
    rows.contact_date.append_value(day);
    rows.attendance.append_value(attendance);
    rows.direct.append_value(direct);
}

/// Appends questionnaire rows for one referral, numbering them.
struct Questionnaires<'r> {
    rid: i64,
    next: i64,
    rows: &'r mut Rows,
}

impl Questionnaires<'_> {
    fn push(
        &mut self,
        occ: Occasion,
        measure: &str,
        informant: &str,
        version: Option<&str>,
    ) -> i64 {
        assert!(
            self.next < QUESTIONNAIRES_PER_REFERRAL,
            "questionnaire id overflow"
        );
        let qid = self.rid * QUESTIONNAIRES_PER_REFERRAL + self.next;
        self.next += 1;
        let r = &mut *self.rows;
        r.questionnaire_id.append_value(qid);
        r.q_referral_id.append_value(self.rid);
        r.q_contact_id.append_option(occ.contact);
        r.measure.append_value(measure);
        r.informant.append_value(informant);
        r.version.append_option(version);
        r.completed_date.append_value(occ.date);
        qid
    }
}

fn shuffle<T>(rng: &mut Rng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
}
