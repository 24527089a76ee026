//! The discussion box of each chart, in our own words.
//!
//! Each box says what the chart shows, then offers questions in the
//! proportion a team is advised to spend its time: about a quarter on
//! whether the data can be trusted, about three quarters on what the data
//! would mean for practice if they are right. A test keeps that balance.

/// The discussion of one chart.
#[derive(Debug, Clone, Copy)]
pub struct Discussion {
    /// What the chart shows and how to read it.
    pub shows: &'static str,
    /// Questions about the data themselves (about a quarter of the talk).
    pub data_issues: &'static [&'static str],
    /// Questions for practice, assuming the data are right (about three
    /// quarters of the talk).
    pub practice: &'static [&'static str],
    /// The programme quality indicator the chart speaks to, if any.
    pub indicator: Option<&'static str>,
}

/// Quality indicator 8, in our words.
pub const QI_ACCESS: &str = "Quality indicator 8: the service watches who can get to it and whether it is acceptable to them, including whether it suits their culture, gender and sexuality.";

/// Quality indicator 2, in our words.
pub const QI_OUTCOMES: &str = "Quality indicator 2: outcome measures (PROMs) and feedback from service users (PREMs) are part of the work across the whole service, and are used in supervision and in sessions to shape the help offered and to work together with families.";

/// Text shown for a chart with no discussion of its own.
const GENERIC: Discussion = Discussion {
    shows: "The values of this chart for each unit compared, as given in the data table below.",
    data_issues: &[
        "Are the records behind these values complete, and recorded the same way in every unit?",
    ],
    practice: &[
        "If our value differs from the others, what in the way we work could explain it?",
        "Who else in the team should see this, and what would we want to know next?",
        "What one change could we try, and how would we see its effect on this chart next time?",
    ],
    indicator: None,
};

/// The discussion of a chart (`section/name`).
pub fn for_chart(id: &str) -> Discussion {
    match id {
        "who/gender" => Discussion {
            shows: "How the in-scope referrals of each partnership split by recorded gender, beside the split across everyone compared. It tells us who reaches the service, not how well they are helped.",
            data_issues: &[
                "Is gender recorded in the same way everywhere, or do some partnerships leave many referrals as not known?",
                "Could the mix reflect the kind of service a partnership runs rather than who needs help?",
            ],
            practice: &[
                "How does our mix compare with the children and young people living in our area, and with what local need would lead us to expect?",
                "If one group is under-represented, where are those young people going instead, and which referral routes miss them?",
                "Do young people of every gender, including those who do not identify as a boy or a girl, tell us the service feels right for them? How would we find out?",
                "What would we try first: where and when we offer appointments, how we describe the service, or which referrers we talk to?",
                "Who will look at this chart again after a change, and how will we know the change made a difference?",
            ],
            indicator: Some(QI_ACCESS),
        },
        "who/age" => Discussion {
            shows: "The age at referral of each partnership's in-scope referrals, in bands, beside everyone compared. A missing or impossible birth date shows as unknown.",
            data_issues: &[
                "Is our unknown band larger than other partnerships'? Missing birth dates hide the true mix.",
                "Does our commissioned age range differ from the others', so that some bands cannot be compared?",
            ],
            practice: &[
                "Are younger children, and older teenagers close to the end of our age range, reaching us as often as local need suggests?",
                "If an age group is thin, do our referral routes, opening hours and venues suit it: schools, GP practices, youth settings?",
                "Do our interventions and questionnaires fit the ages we mostly see, and do clinicians feel confident with the others?",
                "How do we plan the move on for young people near the upper age limit, and do many drop out at that point?",
                "What small change could we test for an under-served age group, and how would we follow its effect here?",
            ],
            indicator: Some(QI_ACCESS),
        },
        "who/ethnicity" => Discussion {
            shows: "The ethnic groups of each partnership's in-scope referrals, from the recorded ethnic category, beside everyone compared.",
            data_issues: &[
                "How many referrals are not stated or not known? A large unknown share makes every other part of the bar uncertain.",
                "Is ethnicity asked of the family, or copied from another record?",
            ],
            practice: &[
                "How does our mix compare with the children and young people of our area? Which groups appear less often than we would expect?",
                "Could language, the need for an interpreter, stigma or earlier experience of services keep some families away? What do local community groups tell us?",
                "Are our staff, leaflets and interventions acceptable to the cultures we serve, and have we asked families what they think?",
                "Once we look at our own team data, do outcomes or experience differ between groups?",
                "What outreach, or joint work with community organisations, could we try, and how would we measure whether access changed?",
            ],
            indicator: Some(QI_ACCESS),
        },
        "who/problem_descriptors" => Discussion {
            shows: "From the first Current View of each referral, the share of referrals in which each problem descriptor was rated at least moderate. Each small dot is a partnership, the tick is everyone compared.",
            data_issues: &[
                "Is a Current View completed for most referrals, at the first contact, or only for some?",
                "Do clinicians rate descriptors consistently? Training and local habit can move ratings more than the children's difficulties do.",
            ],
            practice: &[
                "Do the difficulties we see most often match the skills, training and therapies our team can offer?",
                "Where our shares differ from other partnerships', is that because of who is referred to us, or because of how we screen and accept referrals?",
                "Are some difficulties, such as self-harm, eating problems or neurodevelopmental needs, sent elsewhere locally, and does that pathway work for families?",
                "What would families with the most common difficulties say about how quickly and how well we help them?",
                "Which training or supervision would make the most difference, given this mix of difficulties?",
            ],
            indicator: Some(QI_ACCESS),
        },
        "who/complexity" => Discussion {
            shows: "From the first Current View of each referral, the share of referrals with each complexity factor recorded as present, such as being looked after, a learning disability or a parent's mental illness.",
            data_issues: &[
                "Factors recorded as not known count as absent here: do we record complexity as fully as other partnerships do?",
                "Some factors are sensitive; could they be missed at a first appointment?",
            ],
            practice: &[
                "Do we know which young people face several complexity factors at once, and do they get the longer or joint work they need?",
                "If our shares are low, are young people with complicated lives referred elsewhere, or not referred at all?",
                "If our shares are high, do caseloads, supervision and our links with social care and education reflect that?",
                "In our own data, how do outcomes compare for young people with and without these factors?",
                "Which partner agencies should we talk to about what we find, and what would we ask them?",
            ],
            indicator: Some(QI_ACCESS),
        },
        "who/severity_sdq" => Discussion {
            shows: "The mean SDQ total difficulties score (0 to 40) at the first questionnaire, per partnership, on a funnel plot: higher means more difficulties when help starts. The limit lines show how far a partnership of that size could sit from the centre by chance alone; a dot outside them is unlikely to be chance.",
            data_issues: &[
                "Do we collect the SDQ at the start for most young people, or only for some groups, so that our mean describes a selection?",
                "Do families understand what the questionnaire is for? Rushed or misunderstood answers blur the picture.",
            ],
            practice: &[
                "If our young people start with more severe difficulties than elsewhere, are they waiting too long, or only reaching us once they are in crisis?",
                "If they start with milder difficulties, are those with the greatest needs getting through to us at all? Where are our referrals coming from?",
                "Is the team set up, trained and supervised for the level of difficulty we actually see?",
                "How do our referral criteria and thresholds compare with other partnerships', and is the difference a choice we made on purpose?",
                "What would we learn by comparing starting severity between our own teams?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "who/severity_rcads" => Discussion {
            shows: "The mean RCADS total (anxiety and depression symptoms together) at the first questionnaire, per partnership, on a funnel plot: higher means more symptoms when help starts. A dot outside the limit lines is unlikely to differ from the centre by chance alone.",
            data_issues: &[
                "Is the RCADS offered to every young person it suits, or mostly to those referred for anxiety or low mood?",
                "Could reading level or language make some young people answer carelessly or not at all?",
            ],
            practice: &[
                "If anxiety and depression are more severe at the start than elsewhere, are young people waiting too long, or are milder difficulties being turned away?",
                "If they are milder, are young people with serious anxiety or depression finding their way to us? Who refers them?",
                "Do we offer enough evidence-based help for anxiety and depression, and enough staff trained to give it?",
                "How do we make sure risk is picked up early for young people who start with very high scores?",
                "What would young people tell us about how easy it was to ask for help?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "outcomes/sdq_change" => Discussion {
            shows: "For young people with an SDQ at the start and again later (paired), the mean score at the first questionnaire (T1, hollow dot) and the last (T2, filled dot), per scale and partnership. On the difficulty scales a line running left means fewer difficulties; on the prosocial scale, higher is better.",
            data_issues: &[
                "Only paired cases count: if few complete a second SDQ, the means describe a selection.",
                "Is the second SDQ given at the end of help or at a set review in every partnership?",
            ],
            practice: &[
                "Where change is small, which young people are not improving, and what did their help look like?",
                "Do clinicians look at the answers with the family during the work, and use them to adjust the plan?",
                "On which scales do we change least, and does that match the therapies we are able to offer?",
                "When a young person's scores get worse, is that noticed and discussed in supervision?",
                "Which partnership shows the most change, and what could we learn from how they work?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "outcomes/rcads_change" => Discussion {
            shows: "For young people with an RCADS at the start and again later (paired), the mean score at the first (T1, hollow dot) and the last (T2, filled dot) questionnaire, per scale and partnership. A line running left means fewer symptoms.",
            data_issues: &[
                "Only paired cases count: young people who stopped coming early are missing, and they may have done less well.",
                "Are both questionnaires filled in by the same informant, at comparable points of the work?",
            ],
            practice: &[
                "On which scales, such as separation anxiety, social phobia or low mood, do our young people change least, and why might that be?",
                "Do we offer the specific therapies that help each kind of anxiety and depression, with staff trained and supervised in them?",
                "Do clinicians review the questionnaire with the young person during the work, and change course when scores stay high?",
                "What do young people who did not improve say about the help they had?",
                "Which partnership improves most on the scales where we improve least, and could we visit or talk to them?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "outcomes/effect_size" => Discussion {
            shows: "The pre-post effect size of SDQ total difficulties: the mean change from the first to the last questionnaire, divided by the spread of first scores, so that a positive value means improvement. Partnerships are shown on a funnel plot whose limits narrow as the number of paired cases grows.",
            data_issues: &[
                "Effect sizes from small numbers swing a lot: is our value based on enough paired cases to read?",
                "A different case mix, such as more severe starting scores, can move the effect size with no difference in care.",
            ],
            practice: &[
                "If we sit below the lower line, which part of our pathway could explain smaller change: waiting times, dropout, too few sessions, or the choice of intervention?",
                "If we sit above the upper line, what do we do differently that other partnerships could learn from?",
                "Do clinicians use the measures session by session, so they notice when help is not working?",
                "Do we offer evidence-based interventions matched to each young person's main difficulty, and is there supervision in them?",
                "What would a careful review of a sample of cases with little change tell us?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "outcomes/reliable_improvement" => Discussion {
            shows: "Of the young people with a paired measure, the share whose scores improved by more than measurement error alone would explain (reliable improvement), on a funnel plot. The table below gives reliable deterioration, recovery and reliable recovery.",
            data_issues: &[
                "The share depends on which questionnaires were paired; partnerships that pair different measures may not be comparable.",
                "Recovery needs a clinical cut-off, so cases on scales without one cannot count as recovered.",
            ],
            practice: &[
                "What happened to the young people who did not improve reliably: were they reviewed, offered something different, or discharged?",
                "Is anyone deteriorating reliably, and was that noticed while they were still with us?",
                "Does our help last long enough, and end by a plan agreed with the family rather than by dropout?",
                "How do we share these results with young people, families and commissioners, and what do they make of them?",
                "What would we change first to raise the share, and how would we follow it on this chart?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "outcomes/goal_progress" => Discussion {
            shows: "Goals agreed with young people and families, rated from 0 to 10: the mean first and last rating of paired goals per partnership (hollow and filled dot), and in the table the share of goals that moved reliably.",
            data_issues: &[
                "Goals are personal, so an average mixes very different aims; are they rated at every review or only at the start and end?",
                "A goal rated once cannot pair, so many unpaired goals make this chart thin.",
            ],
            practice: &[
                "Are goals agreed with the young person, in their own words, rather than set for them?",
                "Do clinicians come back to the goals in sessions and use the ratings to steer the work?",
                "Where goals made little progress, were they realistic, and were they revised when circumstances changed?",
                "Do young people feel the goals were theirs? What would they tell us if we asked?",
                "How could supervision make better use of goal ratings?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "experience/esq_parent" => Discussion {
            shows: "Parents' and carers' answers to the Experience of Service Questionnaire: for each item, the share answering certainly true, partly true or not true (don't know left out), for everyone compared and for the highlighted partnership.",
            data_issues: &[
                "Who is offered the questionnaire, and when? Parents who stay to the end may be more satisfied than those who leave early.",
                "Could reading level or language stop some parents from answering?",
            ],
            practice: &[
                "On which items do parents most often answer not true, and what would a parent say if we asked them why?",
                "Do parents feel listened to, and involved in decisions about their child's care?",
                "Are waiting times, appointment times and places workable for families, including parents who work or care for others?",
                "How do we feed the answers back to the team and to families, and what did we change the last time we looked?",
                "Could parents help redesign the part of the service with the weakest answers?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "experience/esq_child" => Discussion {
            shows: "Children's and young people's answers to the Experience of Service Questionnaire, for each version: the share answering certainly true, partly true or not true to each item (don't know left out), for everyone compared and for the highlighted partnership.",
            data_issues: &[
                "Are children asked to fill in the questionnaire in private, or with the clinician who helped them in the room?",
                "Do younger children understand the items, and are enough questionnaires returned to read?",
            ],
            practice: &[
                "Which items do children and young people rate lowest, and what would they tell us in their own words?",
                "Do young people feel they were listened to, taken seriously and given a say in their care?",
                "Are our buildings, appointment times and ways of getting in touch ones young people find easy?",
                "How do young people learn what we changed because of their answers?",
                "Could a participation group help us work out what to change first?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "experience/esq_satisfaction" => Discussion {
            shows: "The share of Experience of Service Questionnaires answering certainly true to the item on whether the help, overall, is good, for parents and for children and young people, each on its own funnel plot.",
            data_issues: &[
                "A handful of questionnaires can put a small partnership almost anywhere: is our number large enough to read?",
                "Are questionnaires handed out by the clinician who did the work? That can push answers up.",
            ],
            practice: &[
                "If fewer families than elsewhere say the help is good, which other items in the questionnaire point to the reason?",
                "Are some groups, such as those who waited longest or stopped coming early, less satisfied?",
                "Do we ask families about their experience during the work, not only at the end, so we can put things right in time?",
                "If we are above the upper line, what do families value about us that we should protect?",
                "How do we tell families and staff what the feedback says and what we did about it?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "data_quality/completion" => Discussion {
            shows: "Of the referrals closed in the period after at least two attended contacts, the share with an outcome measure at the start (T1) and the share with a pair of measures, per measure and for any measure. The funnel plot shows pairing on any measure; the table gives the rest.",
            data_issues: &[
                "Are measures collected but not entered, or entered with the wrong dates, so that pairs are lost in the records rather than in practice?",
                "Are cases closed on the system promptly? Cases left open do not count here.",
            ],
            practice: &[
                "At which point do we lose measures: at the start, or at the end when young people stop coming?",
                "Do clinicians have the time, tools and reminders to collect questionnaires at every review?",
                "Do young people and families know why we ask, and are the answers discussed with them?",
                "Does supervision look at outcome data routinely, or only when a report is due?",
                "What is the single change most likely to raise pairing, and who will take it forward?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "national/outcome_measures" => Discussion {
            shows: "NHS England's own outcome measures for children and young people, worked out from our records the way the national code does: of the referrals closed in the period after two attended contacts (MHS110), how many had an assessment and a paired score, and of those paired, how many improved, stayed the same or got worse by more than the national thresholds, separately for young people's and parents' own ratings. The All row stands in for England.",
            data_issues: &[
                "These figures count only the subscales NHS England uses (SDQ and RCADS subscales and goals, not totals), score RCADS against age and gender norms, and count a change of exactly the threshold: they will not match our own reliable improvement chart, and should not.",
                "NHS England's figures come from what providers submit to MHSDS: if our submission drops contacts or questionnaires that we hold here, the published figures will be lower than these.",
            ],
            practice: &[
                "Where our share paired is low, is it the first assessment that is missing, or the second one before the young person stops coming?",
                "A young person counts as improved only if nothing they rated got reliably worse. For those counted as deteriorated, did anyone notice at the time, and was the plan reviewed?",
                "A rise in the SDQ prosocial score counts as getting worse nationally. Should we talk about that with the teams before they read the published figures?",
                "Parents' ratings and young people's own can tell different stories: when they differ, do we discuss both with the family?",
                "Clinician ratings count for nothing here. If we use CGAS or HoNOSCA, are they recorded where the national return can find them?",
                "Which one change to how we collect and review measures would raise both pairing and the value of the help, and who will watch this table next month?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "national/improvement_funnel" => Discussion {
            shows: "Of the referrals with a paired score (national method), the share with measurable improvement per partnership, for young people's own ratings and for parents' ratings, on funnel plots: a partnership outside the lines improves more, or less, often than chance alone would explain.",
            data_issues: &[
                "Partnerships that pair only a few referrals sit where the funnel is wide; a low share may rest on a handful of young people.",
                "The share depends on which measures a partnership uses: goals, the SDQ and the RCADS do not move by the same amounts.",
            ],
            practice: &[
                "If we sit below the lines, do the young people we see start with different difficulties, or do we offer less, or end the help sooner?",
                "If we sit above them, what do we do that others could learn from, and have we told them?",
                "Do young people and parents see the same improvement? What would we do where they do not agree?",
                "How do we review the cases that did not improve: in supervision, with the family, or not at all?",
                "What change would we try first, and when will we look at this funnel again to see whether it made a difference?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "national/published" => Discussion {
            shows: "Every national measure (MHS110 to MHS115f) in the shape NHS England publishes it: the figure for all our data, treated like England's, and for each partnership and team, treated like a provider's, after the national rule for small numbers (below 5 shown as *, counts rounded to 5, whole percentages). The data table adds age band, gender, ethnic group and referral source.",
            data_issues: &[
                "Rounding to 5 moves small counts a lot: a team with 7 referrals reads 5, one with 8 reads 10, so compare percentages, not counts.",
                "Rules that need data we do not hold (rejected referrals, inpatient spells, team type, local authority) are not applied here.",
            ],
            practice: &[
                "Before the national figures come out, which of ours would surprise our commissioners, and what would we say about them?",
                "Which groups by age, gender or ethnicity have fewer paired scores, and do our measures suit them?",
                "Where a team's figures are all *, is it too small to judge, or are measures not being used at all?",
                "Who checks that what we submit to MHSDS gives the same counts as these?",
                "What would we want the published figures to show a year from now, and what is the first step towards it?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "data_quality/idle_cases" => Discussion {
            shows: "Of the referrals still open at the end of the period, the share with no attended contact for longer than the idle threshold (90 days unless set otherwise), on a funnel plot.",
            data_issues: &[
                "Idle cases are often cases that ended but were never closed on the system: is discharge recorded promptly?",
                "Are phone contacts and joint work with other agencies recorded as attended contacts?",
            ],
            practice: &[
                "Are some young people waiting for a next appointment that never came, and has anyone lost track of them?",
                "Do we review open caseloads regularly, and either close or re-engage idle cases?",
                "Is there a hidden wait inside the service, for example between assessment and treatment, that shows up here?",
                "Do families know how to get back in touch, and do we follow up missed appointments?",
                "What would a review of our idle cases, one by one, tell us?",
            ],
            indicator: None,
        },
        "data_quality/goals_use" => Discussion {
            shows: "Of the referrals closed in the period, the share with any goal rated and the share with a goal rated at least twice (paired). The funnel plot shows paired goals.",
            data_issues: &[
                "Are goals recorded on paper but not entered? Are goal ratings linked to the right referral?",
                "Some services set goals only for some kinds of work; is ours one of them?",
            ],
            practice: &[
                "Do clinicians agree goals with young people early on, and rate them again at each review?",
                "If goals are set but rarely rated again, what gets in the way: time, habit, or doubt about their use?",
                "Do young people and families see their goals as useful, and do they see the ratings?",
                "How could supervision and team meetings make goals part of everyday work?",
                "Who could share good practice with goals across our teams?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "data_quality/benchmark" => Discussion {
            shows: "Each partnership's headline value from the charts above, beside the national value, coloured and marked by where it falls on its collaborative's funnel plot. It is a quick guide to where to look first.",
            data_issues: &[
                "One cause, such as poor data completion, can make a partnership look unusual on many measures: check completion first.",
                "Small partnerships are often suppressed, or sit inside wide limits, simply because they are small.",
            ],
            practice: &[
                "Which of our unusual values matter most to young people and families, and which should we discuss first?",
                "Where we are outside the limits in a good direction, what do we do that others could learn from?",
                "Where we are outside in a worrying direction, which chart above gives the detail, and who will look into it?",
                "How will we bring these results to the team, to commissioners and to young people's participation groups?",
            ],
            indicator: Some(QI_OUTCOMES),
        },
        "key/partnerships" => Discussion {
            shows: "The number each partnership carries on the charts, with its name, its collaborative, its number of services and its in-scope referrals in the period.",
            data_issues: &[],
            practice: &[],
            indicator: None,
        },
        _ => GENERIC,
    }
}

/// How to read a funnel plot (for the cover).
pub const FUNNEL_HOW_TO: &[&str] = &[
    "Each dot is a partnership: across, the number of cases its value rests on; up, the value.",
    "The solid line is the value over all compared cases. The dashed lines mark how far a partnership of that size could sit from it by chance alone: the inner pair at 95%, the outer at 99.8%.",
    "A dot above the upper lines has a value higher than chance would explain, a dot below the lower lines a lower one; inside the lines, the partnership is in line with the rest.",
    "Small partnerships have wide limits, so only large differences stand out for them. Values from fewer cases than the suppression threshold are not plotted and are listed under the chart.",
];

/// How to use the dashboard (for the cover).
pub const USING_THE_DASHBOARD: &[&str] = &[
    "Find your partnership's number in the key at the end, then find its dot or bar on each chart; it is drawn larger and labelled when the report highlights it.",
    "Look at the charts with colleagues. For each, spend about a quarter of the time on whether the data can be trusted, and the rest on what the data would mean for practice if they are right.",
    "Each chart has a discussion box with questions for both parts, and a data table with every value it shows.",
    "Share what you found, and what you decided, with the rest of the service.",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn words(parts: &[&str]) -> usize {
        parts.iter().map(|p| p.split_whitespace().count()).sum()
    }

    #[test]
    fn every_chart_has_its_own_discussion() {
        let catalog = Catalog::embedded().unwrap();
        for chart in catalog.charts() {
            let d = for_chart(&chart.id);
            assert_ne!(
                d.shows, GENERIC.shows,
                "{} has no discussion of its own",
                chart.id
            );
        }
    }

    #[test]
    fn data_issues_take_about_a_quarter_of_the_questions() {
        let catalog = Catalog::embedded().unwrap();
        for chart in catalog.charts().filter(|c| c.section != "key") {
            let d = for_chart(&chart.id);
            let issues = words(d.data_issues);
            let practice = words(d.practice);
            assert!(practice > 0 && issues > 0, "{}", chart.id);
            let share = issues as f64 / (issues + practice) as f64;
            assert!(
                (0.15..=0.35).contains(&share),
                "{}: data issues are {:.0}% of the questions ({issues} of {} words)",
                chart.id,
                share * 100.0,
                issues + practice
            );
        }
    }
}
