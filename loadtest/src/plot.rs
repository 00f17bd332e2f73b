//! Latency-distribution plots as self-contained SVG, written by hand so the load generator
//! needs no plotting or font libraries.
//!
//! The x axis is the usual HdrHistogram "percentile spectrum": x = log10(1 / (1 - p)), so
//! 0%, 90%, 99%, 99.9%, ... are equally spaced and the tail gets as much room as the body.
//! The y axis is latency in milliseconds on a log scale, so a 100 µs median and a 2 s max
//! are both readable on one chart.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use hdrhistogram::Histogram;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 540.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 70.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;

/// Rightmost tick: 99.999%. Five nines is where a run of a few million samples still has
/// tens of samples behind each point; anything rarer is drawn at the right edge.
const X_DECADES: u32 = 5;
/// Points sampled per series along the x axis; dense enough that steps in the tail show.
const SAMPLES: u32 = 500;
/// Histogram values are microseconds; the plot is in milliseconds.
const US_PER_MS: f64 = 1000.0;
/// The histogram cannot resolve below 1 µs, so that is the floor of the y axis (and where
/// a recorded 0 is drawn: log scales have no zero).
const MIN_MS: f64 = 1.0 / US_PER_MS;

/// Line colours, chosen to stay distinguishable for common colour-vision deficiencies.
const PALETTE: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

/// A self-contained SVG of the latency distribution: latency (ms, log scale) against percentile
/// on the "percentile spectrum" axis (0, 90, 99, 99.9, 99.99, 99.999 — x = log10(1/(1-p))),
/// with axis labels, gridlines, a title, a legend, and one polyline per non-empty series.
/// Histogram values are in microseconds, as recorded by [`crate::stats::Latency`].
pub fn latency_svg(title: &str, series: &[(&str, &Histogram<u64>)]) -> String {
    let curves: Vec<Vec<(f64, f64)>> = series.iter().map(|(_, h)| curve(h)).collect();

    // The y range covers every series in whole decades so gridlines land on 1, 10, 100 ms.
    let (lo, hi) = curves
        .iter()
        .flatten()
        .map(|&(_, ms)| ms)
        .fold(None, |acc: Option<(f64, f64)>, ms| match acc {
            None => Some((ms, ms)),
            Some((lo, hi)) => Some((lo.min(ms), hi.max(ms))),
        })
        .unwrap_or((0.1, 10.0));
    let lo_dec = lo.log10().floor() as i32;
    let hi_dec = (hi.log10().ceil() as i32).max(lo_dec + 1);
    let scale = Scale { lo_dec, hi_dec };

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="13">"#
    );
    let _ = writeln!(svg, "<title>{}</title>", escape(title));
    let _ = writeln!(
        svg,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="30" text-anchor="middle" font-size="18" font-weight="bold">{}</text>"#,
        LEFT + PLOT_W / 2.0,
        escape(title)
    );

    grid(&mut svg, &scale);

    for (i, points) in curves.iter().enumerate() {
        if points.is_empty() {
            continue;
        }
        let colour = PALETTE[i % PALETTE.len()];
        let coords: Vec<String> = simplify(points)
            .iter()
            .map(|&(x, ms)| format!("{:.1},{:.1}", x_px(x), scale.y_px(ms)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round" points="{}"/>"#,
            coords.join(" ")
        );
        // The jump to the max happens on the right edge, where it hides against the frame;
        // a dot makes the worst case visible.
        if let Some(&(x, ms)) = points.last() {
            let _ = writeln!(
                svg,
                r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}" stroke="#ffffff" stroke-width="1"/>"##,
                x_px(x),
                scale.y_px(ms)
            );
        }
    }

    if curves.iter().all(Vec::is_empty) {
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="16" fill="#888888">no samples</text>"##,
            LEFT + PLOT_W / 2.0,
            TOP + PLOT_H / 2.0
        );
    }

    legend(&mut svg, series);
    svg.push_str("</svg>\n");
    svg
}

/// Writes an SVG (from [`latency_svg`]) to a file, creating parent directories.
pub fn write_svg(path: &Path, svg: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating directory {}", dir.display()))?;
    }
    std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))
}

/// Maps log10 latency onto the plot's pixel rows.
struct Scale {
    lo_dec: i32,
    hi_dec: i32,
}

impl Scale {
    fn y_px(&self, ms: f64) -> f64 {
        let span = f64::from(self.hi_dec - self.lo_dec);
        let t = (ms.max(MIN_MS).log10() - f64::from(self.lo_dec)) / span;
        TOP + PLOT_H - t.clamp(0.0, 1.0) * PLOT_H
    }
}

fn x_px(x: f64) -> f64 {
    LEFT + x.clamp(0.0, f64::from(X_DECADES)) / f64::from(X_DECADES) * PLOT_W
}

/// (x, latency ms) points of one histogram along the percentile spectrum, ending with the
/// max at the right edge; empty for an empty histogram.
fn curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut points: Vec<(f64, f64)> = (0..=SAMPLES)
        .map(|i| {
            let x = f64::from(i) * f64::from(X_DECADES) / f64::from(SAMPLES);
            let q = 1.0 - 10f64.powf(-x);
            let ms = h.value_at_quantile(q) as f64 / US_PER_MS;
            (x, ms.max(MIN_MS))
        })
        .collect();
    // Samples rarer than 99.999% (and the max itself) would sit off the right edge; draw
    // the max there so the worst case is never hidden.
    let max_ms = (h.max() as f64 / US_PER_MS).max(MIN_MS);
    points.push((f64::from(X_DECADES), max_ms));
    points
}

/// Drops interior points of horizontal runs, which add nothing to the drawing but bytes.
fn simplify(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(points.len());
    for (i, &p) in points.iter().enumerate() {
        let same_as_prev = i > 0 && points[i - 1].1 == p.1;
        let same_as_next = points.get(i + 1).is_some_and(|n| n.1 == p.1);
        if !(same_as_prev && same_as_next) {
            out.push(p);
        }
    }
    out
}

fn grid(svg: &mut String, scale: &Scale) {
    let (x0, x1) = (LEFT, LEFT + PLOT_W);
    let (y0, y1) = (TOP, TOP + PLOT_H);
    let decades = scale.hi_dec - scale.lo_dec;

    // Horizontal gridlines: every decade, plus 2..9 within each decade (labelled at 2 and 5
    // when there are few decades, so a narrow range still has enough labels to read).
    for d in scale.lo_dec..=scale.hi_dec {
        for m in 1..=9u8 {
            if d == scale.hi_dec && m > 1 {
                break;
            }
            let ms = f64::from(m) * 10f64.powi(d);
            let y = scale.y_px(ms);
            let major = m == 1;
            let stroke = if major { "#c8c8c8" } else { "#ececec" };
            let _ = writeln!(
                svg,
                r#"<line x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" stroke="{stroke}" stroke-width="1"/>"#
            );
            if major || (decades <= 2 && (m == 2 || m == 5)) {
                let colour = if major { "#000000" } else { "#666666" };
                let _ = writeln!(
                    svg,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="{colour}">{}</text>"#,
                    x0 - 8.0,
                    y + 4.0,
                    tick_label(m, d)
                );
            }
        }
    }

    // Vertical gridlines at 0%, 90%, 99%, ...
    for k in 0..=X_DECADES {
        let x = x_px(f64::from(k));
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{y1:.1}" stroke="#c8c8c8" stroke-width="1"/>"##
        );
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            y1 + 20.0,
            percentile_label(k)
        );
    }

    // Frame and axis titles.
    let _ = writeln!(
        svg,
        r##"<rect x="{x0:.1}" y="{y0:.1}" width="{PLOT_W:.1}" height="{PLOT_H:.1}" fill="none" stroke="#000000" stroke-width="1"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="14">Percentile</text>"#,
        LEFT + PLOT_W / 2.0,
        HEIGHT - 20.0
    );
    let (lx, ly) = (22.0, TOP + PLOT_H / 2.0);
    let _ = writeln!(
        svg,
        r#"<text x="{lx:.1}" y="{ly:.1}" text-anchor="middle" font-size="14" transform="rotate(-90 {lx:.1} {ly:.1})">Latency (ms, log scale)</text>"#
    );
}

/// Top-left of the plot, where latency curves (low on the left) leave room.
fn legend(svg: &mut String, series: &[(&str, &Histogram<u64>)]) {
    if series.is_empty() {
        return;
    }
    // Kept unescaped until written so the width estimate counts characters, not entities.
    let entries: Vec<String> = series
        .iter()
        .map(|(name, h)| {
            if h.is_empty() {
                format!("{name} (no samples)")
            } else {
                format!(
                    "{name} · n={} · p50 {} ms · p99 {} ms · max {} ms",
                    group_thousands(h.len()),
                    fmt_ms(h.value_at_quantile(0.5)),
                    fmt_ms(h.value_at_quantile(0.99)),
                    fmt_ms(h.max())
                )
            }
        })
        .collect();
    let line_h = 20.0;
    let (x, y) = (LEFT + 12.0, TOP + 12.0);
    // Text width is estimated (no font metrics here): ~7 px per character at 13 px.
    let longest = entries.iter().map(|e| e.chars().count()).max().unwrap_or(0);
    let w = 40.0 + longest as f64 * 7.0;
    let h = line_h * series.len() as f64 + 8.0;
    let _ = writeln!(
        svg,
        r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="#ffffff" fill-opacity="0.9" stroke="#aaaaaa" stroke-width="1"/>"##
    );
    for (i, (entry, (_, hist))) in entries.iter().zip(series).enumerate() {
        // A series with no line gets a grey dashed swatch so no colour promises a curve.
        let (colour, dash) = if hist.is_empty() {
            ("#999999", r#" stroke-dasharray="4 3""#)
        } else {
            (PALETTE[i % PALETTE.len()], "")
        };
        let cy = y + 4.0 + line_h * (i as f64 + 0.5);
        let _ = writeln!(
            svg,
            r#"<line x1="{:.1}" y1="{cy:.1}" x2="{:.1}" y2="{cy:.1}" stroke="{colour}" stroke-width="3"{dash}/>"#,
            x + 8.0,
            x + 30.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            x + 36.0,
            cy + 4.5,
            escape(entry)
        );
    }
}

/// "1", "10", "0.01", "2", "0.005": exact decimal labels built from digits, since float
/// products print with binary noise (5.0 * 10f64.powi(-6) prints as 0.0000049999999999999996).
fn tick_label(mantissa: u8, exp: i32) -> String {
    if exp >= 0 {
        format!("{mantissa}{}", "0".repeat(exp.unsigned_abs() as usize))
    } else {
        let zeros = "0".repeat(exp.unsigned_abs() as usize - 1);
        format!("0.{zeros}{mantissa}")
    }
}

fn percentile_label(decades: u32) -> String {
    match decades {
        0 => "0%".to_string(),
        1 => "90%".to_string(),
        2 => "99%".to_string(),
        k => format!("99.{}%", "9".repeat(k as usize - 2)),
    }
}

/// 2000000 → "2,000,000".
fn group_thousands(n: u64) -> String {
    crate::report::group_thousands(&n.to_string())
}

/// Microseconds as milliseconds with three significant digits (at most three decimals).
fn fmt_ms(us: u64) -> String {
    let ms = us as f64 / US_PER_MS;
    if ms <= 0.0 {
        return "0".to_string();
    }
    let decimals = (2 - ms.log10().floor() as i32).clamp(0, 3) as usize;
    format!("{ms:.decimals$}")
}

/// Escapes text for XML content and attribute values, and drops control characters that
/// XML 1.0 forbids outright (they would make the whole file unreadable).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Latency;

    fn latency(values_us: impl IntoIterator<Item = u64>) -> Latency {
        let mut l = Latency::new();
        for v in values_us {
            l.record_us(v);
        }
        l
    }

    /// A minimal well-formedness check: every element is closed in order, attribute values
    /// are quoted, and no raw `<` or `&` appears outside markup and entities.
    fn assert_balanced(svg: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            check_text(&rest[..start]);
            let after = &rest[start + 1..];
            let end = after
                .find('>')
                .unwrap_or_else(|| panic!("unclosed tag at {after:.40}"));
            let tag = &after[..end];
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in <{tag}>"
            );
            assert!(!tag.contains('<'), "'<' inside tag <{tag}>");
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack
                    .pop()
                    .unwrap_or_else(|| panic!("</{name}> closes nothing"));
                assert_eq!(open, name.trim(), "mismatched close");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().expect("tag name").to_string();
                stack.push(name);
            }
            rest = &after[end + 1..];
        }
        check_text(rest);
        assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    }

    fn check_text(text: &str) {
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|e| entity.starts_with(e)),
                "raw '&' in text: {entity:.20}"
            );
        }
        assert!(!text.contains('>'), "raw '>' in text: {text}");
    }

    fn polyline_points(svg: &str) -> Vec<Vec<(f64, f64)>> {
        svg.lines()
            .filter(|l| l.starts_with("<polyline"))
            .map(|l| {
                let start = l.find("points=\"").expect("points attribute") + 8;
                let end = start + l[start..].find('"').expect("closing quote");
                l[start..end]
                    .split(' ')
                    .map(|p| {
                        let (x, y) = p.split_once(',').expect("x,y");
                        (x.parse().expect("x"), y.parse().expect("y"))
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn svg_is_well_formed_with_title_axes_and_grid() {
        let a = latency((1..=100_000).map(|i| 200 + i % 5_000));
        let svg = latency_svg("Fan-out p99", &[("guildhall", a.histogram())]);
        assert!(svg.starts_with("<svg"), "{svg:.60}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
        assert_balanced(&svg);
        assert!(svg.contains(">Fan-out p99</text>"));
        assert!(svg.contains(">Percentile</text>"));
        assert!(svg.contains(">Latency (ms, log scale)</text>"));
        for label in ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"] {
            assert!(svg.contains(&format!(">{label}</text>")), "missing {label}");
        }
        // 0.2 .. 5.2 ms spans decades 0.1 .. 10 ms.
        for label in ["0.1", "1", "10"] {
            assert!(
                svg.contains(&format!(">{label}</text>")),
                "missing {label} ms"
            );
        }
        assert!(svg.matches("<line").count() >= 6 + 3, "gridlines missing");
        // Horizontal gridlines (full plot width) each sit at their own height, inside the plot.
        let mut ys: Vec<f64> = svg
            .lines()
            .filter(|l| l.starts_with(&format!(r#"<line x1="{LEFT:.1}""#)))
            .filter(|l| l.contains(&format!(r#"x2="{:.1}""#, LEFT + PLOT_W)))
            .map(|l| {
                let start = l.find(r#"y1=""#).expect("y1") + 4;
                let end = start + l[start..].find('"').expect("quote");
                l[start..end].parse::<f64>().expect("number")
            })
            .collect();
        assert_eq!(ys.len(), 2 * 9 + 1, "two decades of 1..9 plus the top line");
        ys.sort_by(f64::total_cmp);
        assert!(
            ys.windows(2).all(|w| w[1] > w[0]),
            "duplicate gridlines: {ys:?}"
        );
        assert!(ys.iter().all(|y| (TOP..=TOP + PLOT_H).contains(y)));
    }

    #[test]
    fn one_polyline_per_non_empty_series() {
        let a = latency((1..=1_000).map(|i| i * 10));
        let b = latency((1..=1_000).map(|i| i * 30));
        let empty = Latency::new();
        let svg = latency_svg(
            "t",
            &[
                ("a", a.histogram()),
                ("empty", empty.histogram()),
                ("b", b.histogram()),
            ],
        );
        assert_balanced(&svg);
        assert_eq!(svg.matches("<polyline").count(), 2);
        // Colours follow the series' positions, so the legend and lines agree.
        assert!(svg.contains(&format!(r#"<polyline fill="none" stroke="{}""#, PALETTE[0])));
        assert!(svg.contains(&format!(r#"<polyline fill="none" stroke="{}""#, PALETTE[2])));
        assert!(svg.contains("empty (no samples)"));
        assert!(svg.contains("n=1,000"));
        assert_eq!(
            svg.matches("<circle").count(),
            2,
            "one max marker per curve"
        );
    }

    #[test]
    fn empty_and_no_series_do_not_panic() {
        let empty = Latency::new();
        for svg in [
            latency_svg("nothing", &[]),
            latency_svg("empty", &[("x", empty.histogram())]),
        ] {
            assert!(svg.starts_with("<svg"));
            assert!(svg.trim_end().ends_with("</svg>"));
            assert_balanced(&svg);
            assert_eq!(svg.matches("<polyline").count(), 0);
            assert!(svg.contains("no samples"));
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            // With no data the axis still shows a sensible default range, 0.1 .. 10 ms.
            assert!(
                svg.len() < 20_000,
                "unexpectedly large: {} bytes",
                svg.len()
            );
            for label in ["0.1", "1", "10"] {
                assert!(
                    svg.contains(&format!(">{label}</text>")),
                    "missing {label} ms"
                );
            }
        }
    }

    #[test]
    fn extreme_values_stay_finite_and_inside_the_plot() {
        // A zero (log scale has none), a single sample, and a clamped 10-minute outlier.
        let zero = latency([0]);
        let one = latency([1_234]);
        let huge = latency([5, u64::MAX]);
        let svg = latency_svg(
            "edge",
            &[
                ("zero", zero.histogram()),
                ("one", one.histogram()),
                ("huge", huge.histogram()),
            ],
        );
        assert_balanced(&svg);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        let lines = polyline_points(&svg);
        assert_eq!(lines.len(), 3);
        for (x, y) in lines.iter().flatten() {
            assert!(
                (LEFT - 0.05..=LEFT + PLOT_W + 0.05).contains(x),
                "x {x} outside"
            );
            assert!(
                (TOP - 0.05..=TOP + PLOT_H + 0.05).contains(y),
                "y {y} outside"
            );
        }
        // The axis reaches 1 µs (0.001 ms) and 10 minutes (600,000 ms → 1,000,000 decade).
        assert!(svg.contains(">0.001</text>"));
        assert!(svg.contains(">1000000</text>"));
    }

    #[test]
    fn curves_rise_left_to_right_and_end_at_max() {
        let l = latency((1..=10_000).map(|i| i * i / 100 + 1));
        let svg = latency_svg("mono", &[("s", l.histogram())]);
        let lines = polyline_points(&svg);
        assert_eq!(lines.len(), 1);
        let pts = &lines[0];
        assert!(pts.len() > 10, "too few points: {}", pts.len());
        for w in pts.windows(2) {
            assert!(w[1].0 >= w[0].0, "x must not go backwards: {w:?}");
            // SVG y grows downwards: higher latency is a smaller y.
            assert!(
                w[1].1 <= w[0].1,
                "latency must not fall with percentile: {w:?}"
            );
        }
        let first = pts[0];
        let last = pts[pts.len() - 1];
        assert!((first.0 - LEFT).abs() < 0.05, "starts at 0%: {first:?}");
        assert!(
            (last.0 - (LEFT + PLOT_W)).abs() < 0.05,
            "ends at the right edge: {last:?}"
        );
        // The curve spans the data: its top is the max (~1,000 ms), its bottom the min.
        let scale_top = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        assert!(
            (scale_top - last.1).abs() < 0.05,
            "max is the highest point"
        );
        assert!(
            first.1 > last.1 + PLOT_H / 2.0,
            "curve should span most of the height"
        );
    }

    #[test]
    fn max_rarer_than_five_nines_is_still_drawn() {
        // One slow sample in a million and one: every sampled percentile up to 99.999% is
        // 1 ms, so only the explicit max point shows the 500 ms outlier.
        let mut l = Latency::new();
        for _ in 0..1_000_000 {
            l.record_us(1_000);
        }
        l.record_us(500_000);
        let svg = latency_svg("outlier", &[("s", l.histogram())]);
        let pts = &polyline_points(&svg)[0];
        let scale = Scale {
            lo_dec: 0,
            hi_dec: 3,
        };
        let last = pts[pts.len() - 1];
        assert!((last.0 - (LEFT + PLOT_W)).abs() < 0.05, "{last:?}");
        assert!(
            (last.1 - scale.y_px(500.0)).abs() < 1.0,
            "max not drawn: {last:?}"
        );
        assert!(
            (pts[pts.len() - 2].1 - scale.y_px(1.0)).abs() < 1.0,
            "99.999% is still 1 ms"
        );
    }

    #[test]
    fn percentile_positions_match_the_spectrum() {
        // 90% of samples at 1 ms, 9% at 10 ms, 1% at 100 ms: the steps must sit at the
        // 90% and 99% gridlines.
        let mut l = Latency::new();
        for _ in 0..9_000 {
            l.record_us(1_000);
        }
        for _ in 0..900 {
            l.record_us(10_000);
        }
        for _ in 0..100 {
            l.record_us(100_000);
        }
        let svg = latency_svg("steps", &[("s", l.histogram())]);
        let pts = &polyline_points(&svg)[0];
        let scale = Scale {
            lo_dec: 0,
            hi_dec: 3,
        };
        let at = |x_decades: f64| {
            let px = x_px(x_decades);
            // Last point at or before px.
            pts.iter()
                .rev()
                .find(|p| p.0 <= px + 0.05)
                .copied()
                .expect("a point")
        };
        let y1 = scale.y_px(1.0);
        let y10 = scale.y_px(10.0);
        let y100 = scale.y_px(100.0);
        assert!((at(0.5).1 - y1).abs() < 1.0, "body at 1 ms");
        assert!((at(1.5).1 - y10).abs() < 1.0, "90..99% at 10 ms");
        assert!((at(2.5).1 - y100).abs() < 1.0, "beyond 99% at 100 ms");
        assert!((at(0.98).1 - y1).abs() < 1.0, "still 1 ms just before 90%");
    }

    #[test]
    fn values_on_an_exact_decade_get_a_non_empty_range() {
        // 1 ms exactly: log10 is 0 for both ends of the range, which must not divide by zero.
        let l = latency([1_000, 1_000]);
        let svg = latency_svg("flat", &[("s", l.histogram())]);
        assert_balanced(&svg);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(svg.contains(">1</text>") && svg.contains(">10</text>"));
        for (x, y) in polyline_points(&svg).iter().flatten() {
            assert!(
                x.is_finite() && (TOP..=TOP + PLOT_H).contains(y),
                "({x}, {y})"
            );
        }
    }

    #[test]
    fn names_and_title_are_escaped() {
        let l = latency([1_000]);
        let svg = latency_svg(
            "<b>R&D</b> \"q\" 'a'",
            &[("socket<io> & \"co\"", l.histogram())],
        );
        assert_balanced(&svg);
        assert!(!svg.contains("<b>"));
        assert!(!svg.contains("socket<io>"));
        assert!(svg.contains("&lt;b&gt;R&amp;D&lt;/b&gt; &quot;q&quot; &apos;a&apos;"));
        assert!(svg.contains("socket&lt;io&gt; &amp; &quot;co&quot;"));
    }

    #[test]
    fn escape_drops_forbidden_control_characters() {
        assert_eq!(escape("a\u{0}b\u{1b}c\nd"), "abc d");
        assert_eq!(escape("µs ✓"), "µs ✓");
    }

    #[test]
    fn labels() {
        assert_eq!(tick_label(1, 0), "1");
        assert_eq!(tick_label(1, 3), "1000");
        assert_eq!(tick_label(1, -1), "0.1");
        assert_eq!(tick_label(5, -3), "0.005");
        assert_eq!(tick_label(5, -6), "0.000005");
        assert_eq!(tick_label(3, -1), "0.3");
        assert_eq!(percentile_label(0), "0%");
        assert_eq!(percentile_label(1), "90%");
        assert_eq!(percentile_label(2), "99%");
        assert_eq!(percentile_label(3), "99.9%");
        assert_eq!(percentile_label(5), "99.999%");
        assert_eq!(fmt_ms(1_234), "1.23");
        assert_eq!(fmt_ms(12), "0.012");
        assert_eq!(fmt_ms(250_000), "250");
        assert_eq!(fmt_ms(0), "0");
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(2_000_000), "2,000,000");
    }

    #[test]
    fn write_svg_writes_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plots").join("latency.svg");
        let l = latency([1_000, 2_000]);
        let svg = latency_svg("w", &[("s", l.histogram())]);
        write_svg(&path, &svg).expect("write_svg");
        assert_eq!(std::fs::read_to_string(&path).expect("read back"), svg);
        assert!(
            write_svg(dir.path(), &svg).is_err(),
            "a directory is not a file"
        );
    }
}
