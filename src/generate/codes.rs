//! Code lists and item codes the generator draws from. The `pub` lists are
//! the ones the shipped reference tables must cover; a test in the parent
//! module checks the weighted tables below use exactly these codes.

/// NHS "source of referral for mental health" (MHSDS) codes used, with the
/// share of referrals each gets (a referral's source is NULL 4% of the time):
/// `A1` primary health care: general medical practitioner (34%),
/// `A3` other primary health care (3%), `B1` self referral: self (8%),
/// `B2` self referral: carer/relative (11%), `C1` local authority: social
/// services (6%), `C2` education service / educational establishment (21%),
/// `F3` child health: community-based paediatrics (5%), `H1` acute secondary
/// care: emergency care department (5%), `P1` internal referral (4%).
pub const REFERRAL_SOURCES: &[&str] = &["A1", "A3", "B1", "B2", "C1", "C2", "F3", "H1", "P1"];

/// Closure reasons used (labels are this generator's own, not checked
/// against the NHS Data Dictionary; NULL on 3% of closed referrals):
/// `01` treatment completed, `02` transferred to another service, `03`
/// moved out of area, `04` did not attend / disengaged, `05` declined
/// further treatment, `06` referral not accepted / signposted, `07` other.
pub const CLOSURE_REASONS: &[&str] = &["01", "02", "03", "04", "05", "06", "07"];

/// NHS attended-or-did-not-attend codes used for contacts (see the contract):
/// `2` cancelled by patient (9%), `3` did not attend (9%), `4` cancelled by
/// provider (5%), `5` attended on time (69%), `6` arrived late and seen (6%),
/// `7` arrived late not seen (2%).
pub const ATTENDANCE: &[&str] = &["2", "3", "4", "5", "6", "7"];

/// Person stated gender codes used (NULL on 2% of persons).
pub const GENDERS: &[&str] = &["1", "2", "9", "X"];

/// NHS ethnic category codes used (NULL on 3% of persons).
pub const ETHNICITIES: &[&str] = &[
    "A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z", "99",
];

/// Service types used (NULL on 3% of services).
pub const SERVICE_TYPES: &[&str] = &["specialist_camhs", "voluntary_sector", "school_based"];

pub(crate) const REFERRAL_SOURCE_WEIGHTS: &[(&str, f64)] = &[
    ("A1", 34.0),
    ("A3", 3.0),
    ("B1", 8.0),
    ("B2", 11.0),
    ("C1", 6.0),
    ("C2", 21.0),
    ("F3", 5.0),
    ("H1", 5.0),
    ("P1", 4.0),
];

pub(crate) const CLOSURE_REASON_WEIGHTS: &[(&str, f64)] = &[
    ("01", 55.0),
    ("02", 10.0),
    ("03", 3.0),
    ("04", 12.0),
    ("05", 8.0),
    ("06", 7.0),
    ("07", 5.0),
];

pub(crate) const ATTENDANCE_WEIGHTS: &[(&str, f64)] = &[
    ("2", 9.0),
    ("3", 9.0),
    ("4", 5.0),
    ("5", 69.0),
    ("6", 6.0),
    ("7", 2.0),
];

pub(crate) const ETHNICITY_WEIGHTS: &[(&str, f64)] = &[
    ("A", 62.0),
    ("B", 0.6),
    ("C", 4.0),
    ("D", 1.6),
    ("E", 1.0),
    ("F", 1.2),
    ("G", 1.8),
    ("H", 2.4),
    ("J", 3.0),
    ("K", 1.2),
    ("L", 1.4),
    ("M", 1.2),
    ("N", 2.6),
    ("P", 1.0),
    ("R", 0.4),
    ("S", 2.4),
    ("Z", 4.0),
    ("99", 5.0),
];

/// SDQ scales, in the order the generator keeps per-scale latents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SdqScale {
    Emotional = 0,
    Conduct = 1,
    Hyperactivity = 2,
    Peer = 3,
    Prosocial = 4,
}

/// The 25 SDQ items in form order: (code, scale, reverse-scored).
pub(crate) const SDQ_ITEMS: [(&str, SdqScale, bool); 25] = {
    use SdqScale::*;
    [
        ("consid", Prosocial, false),
        ("restles", Hyperactivity, false),
        ("somatic", Emotional, false),
        ("shares", Prosocial, false),
        ("tantrum", Conduct, false),
        ("loner", Peer, false),
        ("obeys", Conduct, true),
        ("worries", Emotional, false),
        ("caring", Prosocial, false),
        ("fidgety", Hyperactivity, false),
        ("friend", Peer, true),
        ("fights", Conduct, false),
        ("unhappy", Emotional, false),
        ("popular", Peer, true),
        ("distrac", Hyperactivity, false),
        ("clingy", Emotional, false),
        ("kind", Prosocial, false),
        ("lies", Conduct, false),
        ("bullied", Peer, false),
        ("helpout", Prosocial, false),
        ("reflect", Hyperactivity, true),
        ("steals", Conduct, false),
        ("oldbest", Peer, false),
        ("afraid", Emotional, false),
        ("attends", Hyperactivity, true),
    ]
};

/// SDQ impact items of the parent and self-report forms.
pub(crate) const SDQ_IMPACT: [&str; 5] = ["distres", "imphome", "impfrie", "impclas", "impleis"];
/// SDQ impact items of the teacher form.
pub(crate) const SDQ_IMPACT_TEACHER: [&str; 3] = ["distres", "impfrie", "impclas"];

/// RCADS item codes `rcads_01` .. `rcads_47`.
pub(crate) const RCADS_ITEMS: [&str; 47] = [
    "rcads_01", "rcads_02", "rcads_03", "rcads_04", "rcads_05", "rcads_06", "rcads_07", "rcads_08",
    "rcads_09", "rcads_10", "rcads_11", "rcads_12", "rcads_13", "rcads_14", "rcads_15", "rcads_16",
    "rcads_17", "rcads_18", "rcads_19", "rcads_20", "rcads_21", "rcads_22", "rcads_23", "rcads_24",
    "rcads_25", "rcads_26", "rcads_27", "rcads_28", "rcads_29", "rcads_30", "rcads_31", "rcads_32",
    "rcads_33", "rcads_34", "rcads_35", "rcads_36", "rcads_37", "rcads_38", "rcads_39", "rcads_40",
    "rcads_41", "rcads_42", "rcads_43", "rcads_44", "rcads_45", "rcads_46", "rcads_47",
];

/// RCADS scales (1-based item numbers), from domain.md: separation anxiety,
/// generalised anxiety, panic, social phobia, OCD, depression.
pub(crate) const RCADS_SCALES: [&[usize]; 6] = [
    &[5, 9, 17, 18, 33, 45, 46],
    &[1, 13, 22, 27, 35, 37],
    &[3, 14, 24, 26, 28, 34, 36, 39, 41],
    &[4, 7, 8, 12, 20, 30, 32, 38, 43],
    &[10, 16, 23, 31, 42, 44],
    &[2, 6, 11, 15, 19, 21, 25, 29, 40, 47],
];

/// ESQ scored items `esq_01` .. `esq_12`.
pub(crate) const ESQ_ITEMS: [&str; 12] = [
    "esq_01", "esq_02", "esq_03", "esq_04", "esq_05", "esq_06", "esq_07", "esq_08", "esq_09",
    "esq_10", "esq_11", "esq_12",
];

pub(crate) const ESQ_GOOD: &[&str] = &[
    "Being listened to",
    "My worker was kind and understood me",
    "Learning ways to calm down",
    "They helped the whole family",
    "Having someone to talk to who did not judge",
    "Appointments at school were easy",
];
pub(crate) const ESQ_IMPROVE: &[&str] = &[
    "Shorter waiting time",
    "Evening appointments",
    "The waiting room was noisy",
    "More sessions",
    "Less changing of workers",
];
pub(crate) const ESQ_OTHER: &[&str] = &[
    "Thank you",
    "It took a long time to get seen but it was worth it",
    "Parking was difficult",
];

/// GBO item codes.
pub(crate) const GBO_ITEMS: [&str; 3] = ["goal_1", "goal_2", "goal_3"];

pub(crate) const GOAL_TEXTS: &[&str] = &[
    "To feel less worried about going to school",
    "To get on better with my family",
    "To sleep better",
    "To go out with friends again",
    "To manage my anger",
    "To stop hurting myself",
    "To feel happier",
    "To understand my feelings",
    "To be able to talk in class",
    "To have fewer panic attacks",
    "To eat regular meals",
    "To concentrate on my school work",
];

/// Current View item codes: problem descriptors, complexity factors,
/// contextual problems, education.
pub(crate) const CV_PD: [&str; 30] = [
    "pd_01", "pd_02", "pd_03", "pd_04", "pd_05", "pd_06", "pd_07", "pd_08", "pd_09", "pd_10",
    "pd_11", "pd_12", "pd_13", "pd_14", "pd_15", "pd_16", "pd_17", "pd_18", "pd_19", "pd_20",
    "pd_21", "pd_22", "pd_23", "pd_24", "pd_25", "pd_26", "pd_27", "pd_28", "pd_29", "pd_30",
];
pub(crate) const CV_CF: [&str; 14] = [
    "cf_01", "cf_02", "cf_03", "cf_04", "cf_05", "cf_06", "cf_07", "cf_08", "cf_09", "cf_10",
    "cf_11", "cf_12", "cf_13", "cf_14",
];
pub(crate) const CV_CTX: [&str; 4] = ["ctx_1", "ctx_2", "ctx_3", "ctx_4"];
pub(crate) const CV_EDU: [&str; 2] = ["edu_1", "edu_2"];

/// Which latent drives each problem descriptor, and how rare it is (a
/// higher threshold = rarer), in the order of `CV_PD`.
pub(crate) const CV_PD_MODEL: [(CvDomain, f64); 30] = {
    use CvDomain::*;
    [
        (Emotional, 1.0),
        (Emotional, 0.6),
        (Emotional, 0.3),
        (Emotional, 1.6),
        (Emotional, 1.2),
        (Emotional, 1.4),
        (Emotional, 1.3),
        (Hyperactivity, 1.8),
        (Emotional, 0.4),
        (Emotional, 1.2),
        (Conduct, 1.0),
        (General, 2.6),
        (Conduct, 2.2),
        (Hyperactivity, 0.6),
        (Conduct, 0.6),
        (Conduct, 1.8),
        (Conduct, 1.0),
        (General, 2.4),
        (General, 1.5),
        (Emotional, 1.8),
        (General, 0.5),
        (Peer, 1.7),
        (Peer, 0.7),
        (Peer, 1.6),
        (General, 2.8),
        (General, 2.5),
        (Emotional, 1.7),
        (General, 2.2),
        (General, 2.0),
        (General, 2.0),
    ]
};

/// Prevalence of each complexity factor, in the order of `CV_CF`.
pub(crate) const CV_CF_PREVALENCE: [f64; 14] = [
    0.05, 0.04, 0.05, 0.05, 0.10, 0.04, 0.04, 0.08, 0.01, 0.005, 0.08, 0.15, 0.02, 0.15,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CvDomain {
    Emotional,
    Conduct,
    Hyperactivity,
    Peer,
    General,
}

/// Regional learning collaboratives (a run uses 3 to 6 of them).
pub(crate) const COLLABORATIVES: [&str; 6] = [
    "North Collaborative",
    "South West Collaborative",
    "Midlands Collaborative",
    "London and South East Collaborative",
    "North West Collaborative",
    "East of England Collaborative",
];

/// Syllables for made-up place names (prefix x suffix gives 360 names).
pub(crate) const PLACE_PREFIXES: [&str; 30] = [
    "Ash", "Bram", "Calder", "Dun", "Elm", "Fern", "Glen", "Hart", "Ivy", "Kirk", "Lang", "Marsh",
    "Nor", "Oak", "Pen", "Queens", "Rother", "Stan", "Thorn", "Upper", "Wal", "Whit", "Yar",
    "Brad", "Chester", "Derwen", "Fair", "Hol", "Kings", "Lynd",
];
pub(crate) const PLACE_SUFFIXES: [&str; 12] = [
    "ford", "ley", "ton", "bury", "field", "wick", "mouth", "ham", "dale", "by", "stead", "worth",
];
