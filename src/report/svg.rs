//! A small SVG (and XHTML) writer: escaping, number formatting, linear
//! scales with tidy ticks, text widths and label placement, and path
//! building.
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

/// Tidy ticks covering `[lo, hi]`: a step of 1, 2, 2.5 or 5 times a power
/// of ten giving at most about `count` intervals. Returns the widened
/// domain (whole steps) and the ticks. Print them with [`tick_decimals`]
/// decimals: every tick then reads as its exact value (`27.5`, not `28`).
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
    let mult = NICE_STEPS
        .into_iter()
        .find(|m| m * mag >= raw * (1.0 - 1e-9))
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

/// The multiples of a power of ten a tick step may be.
const NICE_STEPS: [f64; 5] = [1.0, 2.0, 2.5, 5.0, 10.0];

/// Decimals needed to print ticks of this spacing exactly: the fewest `d`
/// with `step x 10^d` a whole number (0.25 needs 2, 2.5 needs 1, 50 none).
pub fn tick_decimals(ticks: &[f64]) -> usize {
    match ticks {
        [a, b, ..] => step_decimals((b - a).abs()),
        _ => 0,
    }
}

/// Decimals needed to print multiples of `step` exactly.
pub fn step_decimals(step: f64) -> usize {
    if step <= 0.0 || !step.is_finite() {
        return 0;
    }
    (0..12usize)
        .find(|d| {
            let scaled = step * 10f64.powi(*d as i32);
            (scaled - scaled.round()).abs() <= 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(12)
}

/// Estimated width in pixels of `text` set in DejaVu Sans (the report's
/// first font, and the widest of its fallbacks) at `font_px`; bold is about
/// 10% wider. Used to keep labels apart: it errs on the wide side.
pub fn text_width(text: &str, font_px: f64, bold: bool) -> f64 {
    let em: f64 = text.chars().map(char_em).sum();
    em * font_px * if bold { 1.1 } else { 1.0 }
}

/// Advance width of a character in DejaVu Sans, in ems (rounded up).
fn char_em(c: char) -> f64 {
    match c {
        'i' | 'j' | 'l' | 'I' | 'J' | '\'' | '|' | '!' => 0.3,
        ' ' | '.' | ',' | ':' | ';' => 0.34,
        'f' | 't' | '(' | ')' | '[' | ']' | '-' | '/' => 0.4,
        'r' => 0.42,
        's' | 'c' | 'z' => 0.56,
        'm' => 0.98,
        'w' => 0.82,
        'M' | 'W' | '%' | '@' => 1.0,
        'A'..='Z' => 0.79,
        '▲' | '▼' | '…' | '–' | '—' => 1.0,
        _ => 0.65,
    }
}

/// An axis-aligned box on the drawing (y grows downwards).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    pub fn new(x0: f64, y0: f64, x1: f64, y1: f64) -> Self {
        Self {
            x0: x0.min(x1),
            y0: y0.min(y1),
            x1: x0.max(x1),
            y1: y0.max(y1),
        }
    }

    /// The box of a square around a point.
    pub fn around(x: f64, y: f64, r: f64) -> Self {
        Self::new(x - r, y - r, x + r, y + r)
    }

    /// The box of a one-line text: `x` per its anchor (`start`, `middle`,
    /// `end`), `y` its baseline.
    pub fn of_text(x: f64, y: f64, anchor: &str, text: &str, font_px: f64, bold: bool) -> Self {
        let w = text_width(text, font_px, bold);
        let x0 = match anchor {
            "middle" => x - w / 2.0,
            "end" => x - w,
            _ => x,
        };
        // DejaVu Sans's ascent and descent, as a browser's text box has them.
        Self::new(x0, y - 0.93 * font_px, x0 + w, y + 0.24 * font_px)
    }

    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x0 < other.x1 && other.x0 < self.x1 && self.y0 < other.y1 && other.y0 < self.y1
    }

    pub fn contains(&self, other: &Rect) -> bool {
        self.x0 <= other.x0 && other.x1 <= self.x1 && self.y0 <= other.y0 && other.y1 <= self.y1
    }

    /// Grown by `d` on every side.
    pub fn inflate(&self, d: f64) -> Self {
        Self::new(self.x0 - d, self.y0 - d, self.x1 + d, self.y1 + d)
    }

    pub fn width(&self) -> f64 {
        self.x1 - self.x0
    }

    pub fn height(&self) -> f64 {
        self.y1 - self.y0
    }

    /// The point of the box nearest to `(x, y)`.
    pub fn nearest(&self, x: f64, y: f64) -> (f64, f64) {
        (x.clamp(self.x0, self.x1), y.clamp(self.y0, self.y1))
    }
}

/// Places boxes (labels) so that none overlaps another, nor any obstacle,
/// and all stay inside the bounds.
#[derive(Debug, Clone)]
pub struct Placer {
    bounds: Rect,
    taken: Vec<Rect>,
}

impl Placer {
    pub fn new(bounds: Rect) -> Self {
        Self {
            bounds,
            taken: Vec::new(),
        }
    }

    /// Mark a box as taken (a dot, a legend, a placed label).
    pub fn block(&mut self, r: Rect) {
        self.taken.push(r);
    }

    /// Whether a box is free: inside the bounds and over nothing taken.
    pub fn fits(&self, r: &Rect) -> bool {
        self.bounds.contains(r) && !self.taken.iter().any(|t| t.overlaps(r))
    }

    /// Take the first candidate that fits.
    pub fn place(&mut self, candidates: impl IntoIterator<Item = Rect>) -> Option<Rect> {
        let found = candidates.into_iter().find(|r| self.fits(r))?;
        self.taken.push(found);
        Some(found)
    }
}

/// Relative luminance of a `#rrggbb` colour (WCAG 2.2).
pub fn luminance(hex: &str) -> f64 {
    let h = hex.trim_start_matches('#');
    let channel = |i: usize| {
        let v = u8::from_str_radix(h.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0) as f64 / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
}

/// WCAG contrast ratio of two `#rrggbb` colours (1 to 21).
pub fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Black or white, whichever reads better on `fill`.
pub fn ink_on(fill: &str) -> &'static str {
    if contrast(fill, "#000000") >= contrast(fill, "#ffffff") {
        "#000000"
    } else {
        "#ffffff"
    }
}

/// Split `0..n` into the fewest runs of at most `max` (at least 1), of
/// nearly equal length: the pages of a long chart.
pub fn chunks(n: usize, max: usize) -> Vec<std::ops::Range<usize>> {
    let max = max.max(1);
    let parts = n.div_ceil(max).max(1);
    let base = n / parts;
    let extra = n % parts;
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for i in 0..parts {
        let len = base + usize::from(i < extra);
        out.push(start..start + len);
        start += len;
    }
    out
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
        assert_eq!(tick_decimals(&[0.0, 0.025]), 3);
        assert_eq!(step_decimals(0.1 + 0.2), 1);
    }

    /// Issue 14: the SDQ severity axis had ticks every 2.5 printed without
    /// decimals (12.5 as "12", 17.5 as "18").
    #[test]
    fn every_tick_prints_as_its_value_issue_14() {
        for (lo, hi, count) in [
            (10.0, 27.5, 7),
            (16.8, 18.9, 6),
            (-0.31, 0.52, 4),
            (0.0, 0.07, 6),
            (0.123, 0.987, 6),
            (3.0, 4000.0, 6),
            (17.2, 17.9, 6),
            (0.0, 1.0, 6),
        ] {
            let ((d0, d1), ticks) = nice_ticks(lo, hi, count);
            assert!(d0 <= lo && d1 >= hi, "{lo}..{hi}: domain {d0}..{d1}");
            assert!(ticks.len() >= 2 && ticks.len() <= count + 3, "{ticks:?}");
            let step = ticks[1] - ticks[0];
            let mantissa = step / 10f64.powf(step.log10().floor());
            assert!(
                [1.0, 2.0, 2.5, 5.0]
                    .iter()
                    .any(|m| (m - mantissa).abs() < 1e-9),
                "step {step}"
            );
            let d = tick_decimals(&ticks);
            for t in &ticks {
                let text = format!("{t:.d$}");
                let back: f64 = text.parse().unwrap();
                assert!((back - t).abs() < 1e-9, "{t} printed {text}");
            }
        }
        let ((_, _), ticks) = nice_ticks(10.0, 27.5, 7);
        let d = tick_decimals(&ticks);
        let labels: Vec<String> = ticks.iter().map(|t| format!("{t:.d$}")).collect();
        assert_eq!(
            labels,
            ["10.0", "12.5", "15.0", "17.5", "20.0", "22.5", "25.0", "27.5"]
        );
    }

    #[test]
    fn contrast_follows_wcag() {
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 1e-9);
        assert!((contrast("#777777", "#ffffff") - 4.48).abs() < 0.01);
        assert_eq!(ink_on("#0072B2"), "#ffffff");
        assert_eq!(ink_on("#D55E00"), "#000000");
        assert_eq!(ink_on("#009E73"), "#000000");
    }

    #[test]
    fn chunks_are_balanced() {
        assert_eq!(chunks(0, 5), vec![0..0]);
        assert_eq!(chunks(5, 5), vec![0..5]);
        assert_eq!(chunks(61, 22), vec![0..21, 21..41, 41..61]);
        assert_eq!(chunks(30, 22), vec![0..15, 15..30]);
    }

    #[test]
    fn boxes_overlap_and_place() {
        let a = Rect::new(0.0, 0.0, 10.0, 10.0);
        assert!(a.overlaps(&Rect::new(5.0, 5.0, 15.0, 15.0)));
        assert!(
            !a.overlaps(&Rect::new(10.0, 0.0, 20.0, 10.0)),
            "touching is not overlapping"
        );
        let t = Rect::of_text(100.0, 50.0, "end", "12", 10.0, false);
        assert!(t.x1 == 100.0 && t.x0 < 100.0 && t.y0 < 50.0 && t.y1 > 50.0);
        assert!(text_width("Partnership 3", 12.0, true) > text_width("Partnership 3", 12.0, false));
        let mut p = Placer::new(Rect::new(0.0, 0.0, 100.0, 100.0));
        p.block(Rect::new(0.0, 0.0, 50.0, 50.0));
        let placed = p.place([
            Rect::new(10.0, 10.0, 20.0, 20.0),
            Rect::new(90.0, 90.0, 110.0, 95.0),
            Rect::new(60.0, 60.0, 70.0, 70.0),
        ]);
        assert_eq!(placed, Some(Rect::new(60.0, 60.0, 70.0, 70.0)));
        assert!(!p.fits(&Rect::new(65.0, 65.0, 75.0, 75.0)));
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
