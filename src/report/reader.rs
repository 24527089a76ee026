//! The report's words for what the catalogue names by identifier (issue
//! 14): its readers are clinicians and managers, so no parameter, column
//! or metric identifier reaches the page. `describe` and `list` keep the
//! identifiers for the people who write queries.
//!
//! - a parameter named in a text reads as its meaning with its bound value
//!   (`period_end`: "the end of the period (2025-03-31)", `idle_days`:
//!   "90 days"), and the chart's settings line says every value in words;
//! - a metric code reads as its declared label, a chart id as its title;
//! - any other identifier reads in words (`lower_998`: "lower 99.8%").
//!
//! The words for the standard parameters (`queries/_params.toml`) are here
//! because a parameter declaration has no label of its own; a parameter
//! this module does not know reads as its name in words with its value.

use super::Ran;

/// How a standard parameter reads in running text, with its value.
fn phrase(name: &str, value: &str) -> Option<String> {
    Some(match name {
        "period_start" => format!("the start of the period ({value})"),
        "period_end" => format!("the end of the period ({value})"),
        "min_n" => value.to_string(),
        "idle_days" => format!("{value} days"),
        "coverage_inner" | "coverage_outer" => format!("{value}%"),
        "severity_threshold" => format!("the severity threshold ({})", severity(value)),
        "informant" => format!("the informant ({})", informant(value)),
        "funnel_kind" => format!("the funnel method ({})", funnel_kind(value)),
        _ => return None,
    })
}

/// How a standard parameter's value reads in a chart's settings line
/// (`None`: a value that needs no mention, such as no partnership chosen).
fn setting(name: &str, value: &str) -> Option<Option<String>> {
    Some(match name {
        "collaborative" if value == "all" => Some("all collaboratives".to_string()),
        "collaborative" => Some(format!("collaborative {value}")),
        "partnership" if value == "0" => None,
        "partnership" => Some(format!("teams of partnership {value}")),
        "level" if value == "service" => Some("teams compared".to_string()),
        "level" => Some(format!("{}s compared", words(value))),
        "min_n" => Some(format!("small-number threshold {value}")),
        "idle_days" => Some(format!(
            "idle after {value} days without an attended contact"
        )),
        "severity_threshold" => Some(format!("descriptors rated {} or above", severity(value))),
        "informant" => Some(format!("informant: {}", informant(value))),
        "funnel_kind" => Some(format!("{} limits", funnel_kind(value))),
        "overdispersion" if value == "true" => Some("limits widened for overdispersion".into()),
        "overdispersion" => None,
        _ => return None,
    })
}

fn severity(value: &str) -> String {
    match value {
        "1" => "mild".to_string(),
        "2" => "moderate".to_string(),
        "3" => "severe".to_string(),
        other => other.to_string(),
    }
}

fn informant(value: &str) -> String {
    match value {
        "self" => "young person (self)".to_string(),
        other => words(other),
    }
}

fn funnel_kind(value: &str) -> String {
    match value {
        "proportion_exact" => "exact binomial".to_string(),
        "proportion" => "normal approximation".to_string(),
        "proportion_arcsine" => "arcsine".to_string(),
        other => words(other),
    }
}

/// A word of an identifier as a reader says it.
fn token(t: &str) -> String {
    match t {
        "pct" => "%".to_string(),
        "se" => "SE".to_string(),
        "id" => "number".to_string(),
        "ref" => "reference".to_string(),
        "t1" | "t2" | "sdq" | "rcads" | "esq" | "gbo" | "cgas" | "cf" | "pd" => t.to_uppercase(),
        "tau2" => "τ²".to_string(),
        "998" => "99.8%".to_string(),
        "95" => "95%".to_string(),
        other => other.to_string(),
    }
}

/// An identifier in words: `lower_998` reads "lower 99.8%", `pct_paired`
/// "% paired", `child_9_11` "child 9-11". Text that is not an identifier
/// comes back as it is.
pub fn words(code: &str) -> String {
    if !is_identifier(code) {
        return code.to_string();
    }
    spoken(code)
}

/// The words of a name made of lower-case tokens joined by underscores.
fn spoken(code: &str) -> String {
    let mut out = String::new();
    let mut last_numeric = false;
    for t in code.split('_').filter(|t| !t.is_empty()) {
        let numeric = t.chars().all(|c| c.is_ascii_digit());
        if !out.is_empty() {
            // Two numbers in a row are a range: 9_11 reads 9-11.
            out.push(if numeric && last_numeric { '-' } else { ' ' });
        }
        out.push_str(&if numeric && last_numeric {
            t.to_string()
        } else {
            token(t)
        });
        last_numeric = numeric;
    }
    out
}

/// A name of the catalogue in words as a heading: `mean_t1` reads "Mean
/// T1", `pct` "%".
pub fn heading(code: &str) -> String {
    let name = code
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let w = if name { spoken(code) } else { code.to_string() };
    if w == "n" {
        return w; // a count of cases, as statistics writes it
    }
    let mut chars = w.chars();
    match chars.next() {
        Some(first) if first.is_ascii_lowercase() => first.to_uppercase().chain(chars).collect(),
        _ => w,
    }
}

/// Lower-case letters, digits and underscores, with a letter and an
/// underscore or a digit: how the catalogue names parameters, columns and
/// metrics (`period_end`, `tau2`).
pub fn is_identifier(s: &str) -> bool {
    s.contains(|c: char| c == '_' || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.chars().any(|c| c.is_ascii_lowercase())
}

impl Ran {
    /// A parameter bound for this chart, in running text.
    fn param_phrase(&self, name: &str) -> Option<String> {
        let value = self.param_text(name)?;
        Some(phrase(name, &value).unwrap_or_else(|| format!("{} ({})", words(name), words(&value))))
    }

    /// A text of the catalogue (a column's description, a note, a
    /// discussion) as its reader sees it: parameters read as their
    /// meaning and value, metric codes as their labels, chart ids as
    /// their titles, other identifiers in words; `code` marks become
    /// quotation marks.
    pub fn reader(&self, text: &str) -> String {
        let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(|c: char| is_word(c) || c == '`') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix('`') {
                // `code`: its inside, read the same way, in quotation marks.
                let end = after.find('`').unwrap_or(after.len());
                out.push('“');
                out.push_str(&self.reader(&after[..end]));
                out.push('”');
                rest = after.get(end + 1..).unwrap_or("");
                continue;
            }
            let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
            // A chart id, `section/chart`: its title.
            if let Some(after) = rest[end..].strip_prefix('/') {
                let end2 = after.find(|c: char| !is_word(c)).unwrap_or(after.len());
                if let Some(title) = self.chart_title(&rest[..end + 1 + end2]) {
                    out.push('“');
                    out.push_str(title);
                    out.push('”');
                    rest = &after[end2..];
                    continue;
                }
            }
            out.push_str(&self.word(&rest[..end]));
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }

    /// One word of a text: an identifier in words (a parameter of the
    /// chart with its value, a metric by its label), anything else as it is.
    fn word(&self, word: &str) -> String {
        if !is_identifier(word) {
            return word.to_string();
        }
        if self.file.param(word).is_some() {
            if let Some(p) = self.param_phrase(word) {
                return p;
            }
        }
        self.metric(word)
            .map_or_else(|| words(word), |m| m.label.clone())
    }

    /// The chart's settings in words: "Period 2024-04-01 to 2025-03-31;
    /// all collaboratives; partnerships compared; ...".
    pub fn settings(&self) -> String {
        let text = |name: &str| self.param_text(name);
        let mut parts: Vec<String> = Vec::new();
        let mut seen_coverage = false;
        for (name, _) in &self.params.values {
            let name = name.as_str();
            let value = text(name).unwrap_or_default();
            match name {
                "period_start" => parts.push(match text("period_end") {
                    Some(end) => format!("period {value} to {end}"),
                    None => format!("period from {value}"),
                }),
                "period_end" if text("period_start").is_some() => {}
                "period_end" => parts.push(format!("period up to {value}")),
                "coverage_inner" | "coverage_outer" => {
                    if !seen_coverage {
                        seen_coverage = true;
                        let limits: Vec<String> = ["coverage_inner", "coverage_outer"]
                            .iter()
                            .filter_map(|c| text(c))
                            .map(|v| format!("{v}%"))
                            .collect();
                        parts.push(format!("limits at {}", limits.join(" and ")));
                    }
                }
                _ => match setting(name, &value) {
                    Some(Some(s)) => parts.push(s),
                    Some(None) => {}
                    None => parts.push(format!("{}: {}", words(name), words(&value))),
                },
            }
        }
        let mut s = parts.join("; ");
        if let Some(first) = s.get(..1) {
            s = first.to_uppercase() + &s[1..];
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_read_in_words() {
        assert_eq!(words("lower_998"), "lower 99.8%");
        assert_eq!(words("pct_certainly_true"), "% certainly true");
        assert_eq!(words("child_9_11"), "child 9-11");
        assert_eq!(words("young_person_12_18"), "young person 12-18");
        assert_eq!(heading("mean_t1"), "Mean T1");
        assert_eq!(heading("partnership_id"), "Partnership number");
        assert_eq!(words("Hartdale Partnership"), "Hartdale Partnership");
        assert_eq!(words("parent"), "parent");
        assert_eq!(heading("tau2"), "τ²");
        assert_eq!(heading("pct"), "%");
        assert_eq!(heading("value"), "Value");
        assert_eq!(words("t1"), "T1");
        assert!(is_identifier("esq_01") && is_identifier("tau2"));
        assert!(!is_identifier("MHS_110") && !is_identifier("_") && !is_identifier("12"));
    }

    #[test]
    fn parameters_read_as_their_meaning_and_value() {
        assert_eq!(
            phrase("period_end", "2025-03-31").unwrap(),
            "the end of the period (2025-03-31)"
        );
        assert_eq!(phrase("idle_days", "90").unwrap(), "90 days");
        assert_eq!(
            setting("funnel_kind", "proportion_exact").unwrap().unwrap(),
            "exact binomial limits"
        );
        assert_eq!(setting("partnership", "0").unwrap(), None);
        assert!(setting("no_such", "1").is_none());
    }
}
