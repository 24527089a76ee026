//! A small SVG (and XHTML) writer: escaping, number formatting, linear
//! scales with tidy ticks, and path building.
//!
//! Everything the report writes goes through [`escape_text`] or
//! [`escape_attr`], so a partnership called `A & B <North>` cannot break the
//! page. The markup is well-formed XML as well as HTML: every element is
//! closed, and only the five XML entities are used.

use std::fmt::Write as _;

/// Escape text content (`&`, `<`, `>`).
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if is_forbidden_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Escape an attribute value (quoted with `"`).
pub fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Literal newlines and tabs in attributes are normalised to
            // spaces by XML parsers; keep them as spaces ourselves.
            '\n' | '\r' | '\t' => out.push(' '),
            c if is_forbidden_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Control characters that are not allowed in XML 1.0 text.
fn is_forbidden_control(c: char) -> bool {
    (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t')
}

/// A coordinate or other number for markup: at most 2 decimals, no
/// trailing zeros, `-0` written as `0`. Non-finite numbers become `0`
/// (callers skip them before drawing).
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "0".to_string();
    }
    let s = format!("{:.2}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// A value carried in a `data-` attribute: the shortest text that reads
/// back as the same `f64`.
pub fn data_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

/// A value an attribute can take.
pub trait AttrValue {
    fn to_attr(&self) -> String;
}

impl AttrValue for &str {
    fn to_attr(&self) -> String {
        (*self).to_string()
    }
}

impl AttrValue for String {
    fn to_attr(&self) -> String {
        self.clone()
    }
}

impl AttrValue for &String {
    fn to_attr(&self) -> String {
        (*self).clone()
    }
}

impl AttrValue for f64 {
    fn to_attr(&self) -> String {
        num(*self)
    }
}

impl AttrValue for i64 {
    fn to_attr(&self) -> String {
        self.to_string()
    }
}

impl AttrValue for usize {
    fn to_attr(&self) -> String {
        self.to_string()
    }
}

impl AttrValue for bool {
    fn to_attr(&self) -> String {
        self.to_string()
    }
}

/// One element: a tag and its attributes, in the order given.
#[derive(Debug, Clone)]
pub struct El {
    tag: &'static str,
    attrs: Vec<(&'static str, String)>,
}

/// Start an element.
pub fn el(tag: &'static str) -> El {
    El {
        tag,
        attrs: Vec::new(),
    }
}

impl El {
    /// Add an attribute.
    pub fn a(mut self, name: &'static str, value: impl AttrValue) -> Self {
        self.attrs.push((name, value.to_attr()));
        self
    }

    /// Add an attribute when the value is present.
    pub fn a_opt<V: AttrValue>(self, name: &'static str, value: Option<V>) -> Self {
        match value {
            Some(v) => self.a(name, v),
            None => self,
        }
    }

    fn write_start(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.tag);
        for (name, value) in &self.attrs {
            let _ = write!(out, " {name}=\"{}\"", escape_attr(value));
        }
    }
}

/// Markup being written: elements are opened and closed in order, and
/// [`Writer::finish`] checks that every element was closed.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    open: Vec<&'static str>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty element: `<tag .../>`.
    pub fn leaf(&mut self, e: El) -> &mut Self {
        e.write_start(&mut self.out);
        self.out.push_str("/>");
        self
    }

    /// An element holding only text.
    pub fn text(&mut self, e: El, text: &str) -> &mut Self {
        e.write_start(&mut self.out);
        self.out.push('>');
        self.out.push_str(&escape_text(text));
        let _ = write!(self.out, "</{}>", e.tag);
        self
    }

    /// Open an element; close it with [`Writer::close`].
    pub fn open(&mut self, e: El) -> &mut Self {
        e.write_start(&mut self.out);
        self.out.push('>');
        self.open.push(e.tag);
        self
    }

    /// Close the innermost open element.
    pub fn close(&mut self) -> &mut Self {
        let tag = self.open.pop().expect("close without a matching open");
        let _ = write!(self.out, "</{tag}>");
        self
    }

    /// Text between elements.
    pub fn content(&mut self, text: &str) -> &mut Self {
        self.out.push_str(&escape_text(text));
        self
    }

    /// Markup that is already well-formed (from another [`Writer`]).
    pub fn raw(&mut self, markup: &str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// The markup; panics if an element was left open (a bug in the caller).
    pub fn finish(self) -> String {
        assert!(self.open.is_empty(), "unclosed elements: {:?}", self.open);
        self.out
    }
}

/// A linear map from a data domain to a pixel range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
}

impl Scale {
    /// A scale; a zero-width domain is widened by one unit either side.
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Self {
        let (mut d0, mut d1) = domain;
        if (d1 - d0).abs() < f64::EPSILON {
            d0 -= 1.0;
            d1 += 1.0;
        }
        Self {
            d0,
            d1,
            r0: range.0,
            r1: range.1,
        }
    }

    /// Pixel position of a data value.
    pub fn map(&self, v: f64) -> f64 {
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }

    /// Data value at a pixel position (the inverse of [`Scale::map`]).
    pub fn invert(&self, px: f64) -> f64 {
        self.d0 + (px - self.r0) / (self.r1 - self.r0) * (self.d1 - self.d0)
    }

    /// The domain and range as `data-` attribute text: `"d0 d1"`, `"r0 r1"`.
    pub fn domain_attr(&self) -> String {
        format!("{} {}", data_num(self.d0), data_num(self.d1))
    }

    pub fn range_attr(&self) -> String {
        format!("{} {}", data_num(self.r0), data_num(self.r1))
    }
}

/// Tidy ticks covering `[lo, hi]`: a step of 1, 2 or 5 times a power of
/// ten giving about `count` intervals. Returns the widened domain (whole
/// steps) and the ticks.
pub fn nice_ticks(lo: f64, hi: f64, count: usize) -> ((f64, f64), Vec<f64>) {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let (lo, hi) = if (hi - lo).abs() < 1e-12 {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    };
    let raw = (hi - lo) / count.max(1) as f64;
    let exp = raw.log10().floor() as i32;
    let mag = 10f64.powi(exp);
    let mult = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|m| m * mag >= raw)
        .unwrap_or(10.0);
    let step = mult * mag;
    // Tick k is k x mult x 10^exp; for exp < 0 divide by the exact power of
    // ten, so 3 x 0.2 prints as 0.6 and not 0.6000000000000001.
    let at = |k: f64| {
        if exp < 0 {
            k * mult / 10f64.powi(-exp)
        } else {
            k * mult * mag
        }
    };
    // The tolerance lets a bound that sits on a tick (up to float noise)
    // stay on it instead of adding a whole step beyond the data.
    let first = (lo / step + 1e-9).floor();
    let last = (hi / step - 1e-9).ceil();
    let ticks: Vec<f64> = (0..=(last - first) as i64)
        .map(|i| at(first + i as f64))
        .collect();
    let (start, end) = (at(first), at(last));
    ((start, end), ticks)
}

/// Decimals needed to print ticks of this step without noise.
pub fn tick_decimals(ticks: &[f64]) -> usize {
    let step = match ticks {
        [a, b, ..] => (b - a).abs(),
        _ => return 0,
    };
    if step <= 0.0 || !step.is_finite() {
        return 0;
    }
    let d = -step.log10().floor();
    if d <= 0.0 {
        0
    } else {
        // 2.5 x 10^k needs one decimal more.
        let scaled = step * 10f64.powi(d as i32);
        (d as usize) + usize::from((scaled - scaled.round()).abs() > 1e-9)
    }
}

/// Path data built from straight segments.
#[derive(Debug, Default, Clone)]
pub struct PathData {
    d: String,
}

impl PathData {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn move_to(&mut self, x: f64, y: f64) -> &mut Self {
        self.sep();
        let _ = write!(self.d, "M{} {}", num(x), num(y));
        self
    }

    pub fn line_to(&mut self, x: f64, y: f64) -> &mut Self {
        self.sep();
        let _ = write!(self.d, "L{} {}", num(x), num(y));
        self
    }

    pub fn close(&mut self) -> &mut Self {
        self.sep();
        self.d.push('Z');
        self
    }

    fn sep(&mut self) {
        if !self.d.is_empty() {
            self.d.push(' ');
        }
    }

    pub fn is_empty(&self) -> bool {
        self.d.is_empty()
    }

    pub fn build(&self) -> String {
        self.d.clone()
    }

    /// A polyline through the points; a non-finite point breaks the line
    /// (the next finite point starts a new sub-path).
    pub fn polyline(points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let mut p = Self::new();
        let mut pen_down = false;
        for (x, y) in points {
            if x.is_finite() && y.is_finite() {
                if pen_down {
                    p.line_to(x, y);
                } else {
                    p.move_to(x, y);
                    pen_down = true;
                }
            } else {
                pen_down = false;
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        assert_eq!(escape_text("A & B <North>"), "A &amp; B &lt;North&gt;");
        assert_eq!(
            escape_attr("say \"hi\" & 'bye' <x>"),
            "say &quot;hi&quot; &amp; &apos;bye&apos; &lt;x&gt;"
        );
        assert_eq!(escape_attr("two\nlines"), "two lines");
        assert_eq!(escape_text("bell\u{7}"), "bell");
        assert_eq!(escape_text("Ünïcode – fine"), "Ünïcode – fine");
    }

    #[test]
    fn writer_nests_and_escapes() {
        let mut w = Writer::new();
        w.open(el("g").a("class", "mark & more"))
            .leaf(el("circle").a("cx", 1.5).a("cy", 2.0).a("r", 3i64))
            .text(el("text").a("x", 0.126), "<5 & >2")
            .close();
        assert_eq!(
            w.finish(),
            "<g class=\"mark &amp; more\"><circle cx=\"1.5\" cy=\"2\" r=\"3\"/>\
             <text x=\"0.13\">&lt;5 &amp; &gt;2</text></g>"
        );
    }

    #[test]
    #[should_panic(expected = "unclosed")]
    fn writer_refuses_unclosed_elements() {
        let mut w = Writer::new();
        w.open(el("g"));
        w.finish();
    }

    #[test]
    fn optional_attributes_are_skipped() {
        let mut w = Writer::new();
        w.leaf(el("rect").a_opt("x", Some(1.0)).a_opt::<f64>("y", None));
        assert_eq!(w.finish(), "<rect x=\"1\"/>");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.234), "1.23");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(10.5), "10.5");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(data_num(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(data_num(f64::INFINITY), "");
    }

    #[test]
    fn scales_map_and_invert() {
        let s = Scale::new((0.0, 200.0), (60.0, 660.0));
        assert_eq!(s.map(0.0), 60.0);
        assert_eq!(s.map(100.0), 360.0);
        assert!((s.invert(s.map(37.5)) - 37.5).abs() < 1e-12);
        // An inverted pixel range (y grows downwards).
        let y = Scale::new((0.0, 1.0), (400.0, 20.0));
        assert_eq!(y.map(1.0), 20.0);
        assert!((y.invert(210.0) - 0.5).abs() < 1e-12);
        // A single-value domain still maps.
        let flat = Scale::new((5.0, 5.0), (0.0, 100.0));
        assert_eq!(flat.map(5.0), 50.0);
        assert_eq!(s.domain_attr(), "0 200");
        assert_eq!(y.range_attr(), "400 20");
    }

    #[test]
    fn ticks_are_tidy() {
        let ((lo, hi), t) = nice_ticks(0.0, 1.0, 5);
        assert_eq!((lo, hi), (0.0, 1.0));
        assert_eq!(t, vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        let ((lo, hi), t) = nice_ticks(12.3, 17.9, 5);
        assert_eq!((lo, hi), (12.0, 18.0));
        assert_eq!(t.first(), Some(&12.0));
        assert_eq!(t.last(), Some(&18.0));
        let ((lo, hi), _) = nice_ticks(0.0, 1234.0, 5);
        assert_eq!((lo, hi), (0.0, 1250.0));
        let ((lo, hi), _) = nice_ticks(3.0, 3.0, 5);
        assert!(lo < 3.0 && hi > 3.0);
        let ((lo, hi), _) = nice_ticks(-0.31, 0.52, 4);
        assert!(lo <= -0.31 && hi >= 0.52);
        assert_eq!(tick_decimals(&[0.0, 0.2, 0.4]), 1);
        assert_eq!(tick_decimals(&[0.0, 0.25, 0.5]), 2);
        assert_eq!(tick_decimals(&[0.0, 5.0, 10.0]), 0);
        assert_eq!(tick_decimals(&[0.0, 250.0]), 0);
    }

    #[test]
    fn paths_join_points_and_break_on_gaps() {
        let mut p = PathData::new();
        p.move_to(0.0, 0.0).line_to(10.0, 5.5).close();
        assert_eq!(p.build(), "M0 0 L10 5.5 Z");
        let line = PathData::polyline([
            (0.0, 1.0),
            (1.0, 2.0),
            (2.0, f64::NAN),
            (3.0, 4.0),
            (4.0, 5.0),
        ]);
        assert_eq!(line.build(), "M0 1 L1 2 M3 4 L4 5");
        assert!(PathData::polyline([(f64::NAN, 0.0)]).is_empty());
    }
}
