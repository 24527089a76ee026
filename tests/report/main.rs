//! The rendered dashboard (issue #6): the HTML is parsed as XML and every
//! drawn mark is checked against the chart query it comes from.
//!
//! Data: `data/demo` when it holds data, else a synthetic data set written
//! once into Cargo's test temporary directory; the hand-made chart fixture
//! (`tests/fixtures/dashboard`) for suppression and the team drill-down;
//! `tests/fixtures/tiny`, where everything is suppressed.

mod checks;
mod fixture;
mod layout;
mod new_chart;
mod words;

use checks::*;
use cypdash::catalog::params::ParamError;
use cypdash::report::{render, Level, ReportError, ReportOptions};
use fixture::*;

#[test]
fn report_is_well_formed_and_self_contained() {
    let f = demo();
    let doc = parse(&f.html);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "html");
    // No network: no scripts, links, images or remote URLs of any kind.
    for node in doc.descendants().filter(|n| n.is_element()) {
        let tag = node.tag_name().name();
        assert!(
            !matches!(tag, "script" | "link" | "img" | "iframe" | "object"),
            "<{tag}> in the report"
        );
        for attr in node.attributes() {
            let v = attr.value();
            if attr.name() == "xmlns" {
                continue;
            }
            assert!(
                !v.contains("http:") && !v.contains("https:"),
                "remote reference {}={v}",
                attr.name()
            );
            if attr.name() == "href" {
                assert!(v.starts_with('#'), "only links inside the page: {v}");
            }
        }
    }
    let style = doc
        .descendants()
        .find(|n| n.has_tag_name("style"))
        .expect("inline styles");
    let css = style.text().unwrap_or("");
    assert!(css.contains("size: A4 landscape"));
    assert!(css.contains("break-before: page"));
    assert!(!css.contains("url("), "no external fonts or images");
}

#[test]
fn every_chart_of_the_catalogue_is_rendered_in_dashboard_order() {
    let f = demo();
    let doc = parse(&f.html);
    let catalog = cypdash::catalog::Catalog::embedded().unwrap();
    let sections: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("section") && has_class(n, "chart"))
        .collect();
    let rendered: Vec<&str> = sections
        .iter()
        .filter_map(|n| n.attribute("data-chart"))
        .collect();
    assert_eq!(rendered.len(), catalog.charts().count(), "{rendered:?}");
    for chart in catalog.charts() {
        assert!(
            rendered.contains(&chart.id.as_str()),
            "{} is missing",
            chart.id
        );
    }
    // Sections in the paper dashboard's order, the key last.
    let order = [
        "who",
        "outcomes",
        "experience",
        "data_quality",
        "national",
        "key",
    ];
    let ranks: Vec<usize> = rendered
        .iter()
        .map(|id| {
            order
                .iter()
                .position(|s| id.starts_with(&format!("{s}/")))
                .unwrap()
        })
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{rendered:?}");
    assert_eq!(rendered.last(), Some(&"key/partnerships"));
    for s in &sections {
        let id = s.attribute("data-chart").unwrap();
        // A progress indicator with the chart's own section current.
        let current = s
            .descendants()
            .find(|n| n.has_tag_name("li") && n.attribute("aria-current") == Some("step"));
        if !id.starts_with("key/") {
            let current = current.unwrap_or_else(|| panic!("{id}: no current section"));
            let href = current
                .descendants()
                .find_map(|n| n.attribute("href"))
                .unwrap();
            assert_eq!(href, format!("#section-{}", id.split('/').next().unwrap()));
            // A discussion box with both kinds of question, and a data table.
            let aside = s
                .descendants()
                .find(|n| n.has_tag_name("aside"))
                .unwrap_or_else(|| panic!("{id}: no discussion"));
            for class in ["data-issues", "practice"] {
                let list = aside
                    .descendants()
                    .find(|n| has_class(n, class))
                    .unwrap_or_else(|| panic!("{id}: no {class}"));
                assert!(
                    list.children().filter(|c| c.has_tag_name("li")).count() >= 2,
                    "{id}: {class}"
                );
            }
            let table = s
                .descendants()
                .find(|n| n.has_tag_name("details") && has_class(n, "data"))
                .unwrap_or_else(|| panic!("{id}: no data table"));
            assert!(table.descendants().any(|n| n.has_tag_name("table")));
            // Every chart drawing has a text alternative.
            for svg in s.descendants().filter(|n| n.has_tag_name("svg")) {
                assert_eq!(svg.attribute("role"), Some("img"), "{id}");
                let first: Vec<&str> = svg
                    .children()
                    .filter(|c| c.is_element())
                    .take(2)
                    .map(|c| c.tag_name().name())
                    .collect();
                assert_eq!(first, ["title", "desc"], "{id}");
                let desc = svg
                    .children()
                    .find(|c| c.has_tag_name("desc"))
                    .unwrap()
                    .text()
                    .unwrap_or("");
                assert!(desc.len() > 40, "{id}: desc too short: {desc}");
            }
        }
    }
    // The cover: collaborative, period and a data summary.
    let cover = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("cover"))
        .expect("cover");
    let text: String = cover
        .descendants()
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("Period:"), "{text}");
    assert!(text.contains("In-scope referrals"));
    assert!(text.contains("Partnerships"));
}

#[test]
fn funnel_marks_sit_at_their_value_and_n() {
    let f = demo();
    check_funnels(&f.html, &f.data_dir, &f.options);
}

#[test]
fn highlighted_partnership_is_marked_and_labelled_on_every_funnel() {
    let f = demo();
    let doc = parse(&f.html);
    let id = f.options.partnership.unwrap().to_string();
    let funnels: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("svg") && has_class(n, "funnel"))
        .collect();
    assert!(
        funnels.len() >= 8,
        "expected a funnel per funnel chart and headline metric"
    );
    let mut marked = 0;
    for svg in &funnels {
        let highlighted: Vec<roxmltree::Node> = svg
            .descendants()
            .filter(|n| {
                n.has_tag_name("circle")
                    && has_class(n, "highlight")
                    && has_class(n, "mark")
                    && !has_class(n, "key")
            })
            .collect();
        let suppressed = svg.descendants().any(|n| {
            has_class(&n, "suppressed")
                && has_class(&n, "highlight")
                && n.attribute("data-unit") == Some(&id)
        });
        match highlighted.as_slice() {
            [one] => {
                assert_eq!(one.attribute("data-unit"), Some(id.as_str()));
                let label = svg
                    .descendants()
                    .find(|n| {
                        n.has_tag_name("text") && has_class(n, "label") && has_class(n, "highlight")
                    })
                    .expect("the highlighted dot is labelled");
                assert!(label
                    .text()
                    .unwrap_or("")
                    .contains(&format!("Partnership {id}")));
                marked += 1;
            }
            [] => assert!(
                suppressed,
                "{:?}: no highlighted dot and no suppressed note",
                svg.attribute("data-chart")
            ),
            many => panic!("{} highlighted dots", many.len()),
        }
    }
    assert!(marked > 0);
    // The key marks the same partnership.
    let key_row = doc.descendants().find(|n| {
        n.has_tag_name("tr") && has_class(n, "highlight") && n.attribute("data-unit") == Some(&id)
    });
    assert!(key_row.is_some(), "the key highlights partnership {id}");
}

#[test]
fn bars_and_changes_carry_the_query_values() {
    let f = demo();
    check_categories(&f.html, &f.data_dir, &f.options);
    check_changes(&f.html, &f.data_dir, &f.options);
}

#[test]
fn suppressed_values_are_shown_as_such_never_as_zero() {
    // In the hand-made fixture partnership 4 has one in-scope referral: with
    // min_n = 2 it is suppressed everywhere.
    let mut options = ReportOptions {
        partnership: Some(4),
        ..ReportOptions::default()
    };
    options.params.insert("min_n".to_string(), "2".to_string());
    let dir = chart_fixture();
    let html = render_with(&dir, &options).unwrap();
    check_funnels(&html, &dir, &options);
    check_categories(&html, &dir, &options);
    check_changes(&html, &dir, &options);
    let doc = parse(&html);
    // The highlighted partnership is suppressed on the SDQ severity funnel:
    // it says so in the plot, and the list under it names it.
    let sdq = doc
        .descendants()
        .find(|n| n.has_tag_name("svg") && n.attribute("data-chart") == Some("who/severity_sdq"))
        .unwrap();
    assert!(sdq.descendants().any(|n| has_class(&n, "suppressed")
        && has_class(&n, "highlight")
        && n.attribute("data-unit") == Some("4")));
    let gender = doc
        .descendants()
        .find(|n| n.has_tag_name("svg") && n.attribute("data-chart") == Some("who/gender"))
        .unwrap();
    assert!(!gender
        .descendants()
        .any(|n| has_class(&n, "seg") && n.attribute("data-unit") == Some("4")));
    let note = gender
        .descendants()
        .find(|n| has_class(n, "suppressed") && n.attribute("data-unit") == Some("4"))
        .expect("a suppressed note for partnership 4");
    assert!(note.text().unwrap_or("").contains("withheld"));
}

#[test]
fn team_drill_down_compares_the_services_of_one_partnership() {
    let options = ReportOptions {
        level: Level::Service,
        partnership: Some(1),
        service: Some(11),
        ..ReportOptions::default()
    };
    let dir = chart_fixture();
    let html = render_with(&dir, &options).unwrap();
    check_funnels(&html, &dir, &options);
    let doc = parse(&html);
    for mark in doc.descendants().filter(|n| {
        n.has_tag_name("circle")
            && has_class(n, "mark")
            && n.attribute("data-partnership").is_some()
    }) {
        assert_eq!(mark.attribute("data-partnership"), Some("1"));
        assert!(mark.attribute("data-service").is_some());
    }
}

#[test]
fn everything_suppressed_still_renders() {
    let dir = tiny_fixture();
    let options = ReportOptions::default();
    let html = render_with(&dir, &options).unwrap();
    check_funnels(&html, &dir, &options);
    let doc = parse(&html);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("circle") && has_class(n, "mark") && !has_class(n, "key"))
            .count(),
        0
    );
}

#[test]
fn bad_options_are_errors() {
    let dir = chart_fixture();
    let mut options = ReportOptions::default();
    options
        .params
        .insert("no_such_param".to_string(), "1".to_string());
    let err = render_with(&dir, &options).unwrap_err();
    assert!(
        matches!(err, ReportError::Param(ParamError::Undeclared { .. })),
        "{err}"
    );
    let options = ReportOptions {
        partnership: Some(99),
        ..ReportOptions::default()
    };
    let err = render_with(&dir, &options).unwrap_err();
    assert!(
        err.to_string().contains("partnership 99 is not among"),
        "{err}"
    );
    let _ = render;
}
