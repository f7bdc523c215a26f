//! PHQ-9 and GAD-7 totals across the episode as an SVG drawn on the server: no script, no inline
//! style (the CSP forbids both), severity bands behind the points.

use std::fmt::Write;

use chrono::{DateTime, Utc};

/// One administered questionnaire.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub at: DateTime<Utc>,
    pub total: u8,
    pub severity: String,
}

/// An instrument's scale and its severity bands (lower bound inclusive, label).
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub name: &'static str,
    pub max: u8,
    pub bands: &'static [(u8, &'static str)],
}

pub const PHQ9: Scale = Scale {
    name: "PHQ-9",
    max: 27,
    bands: &[(0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe"), (20, "severe")],
};
pub const GAD7: Scale =
    Scale { name: "GAD-7", max: 21, bands: &[(0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")] };

const WIDTH: f64 = 490.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 36.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 28.0;

/// The chart of one instrument's scores (`scores` in any order) over `from`..`to`.
pub fn svg(scale: &Scale, scores: &[Score], from: DateTime<Utc>, to: DateTime<Utc>, id: &str) -> String {
    let mut scores = scores.to_vec();
    scores.sort_by_key(|s| s.at);
    let span = (to - from).num_seconds().max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |at: DateTime<Utc>| LEFT + plot_w * ((at - from).num_seconds() as f64 / span).clamp(0.0, 1.0);
    let y = |v: f64| TOP + plot_h * (1.0 - v / f64::from(scale.max));
    let mut out = format!(
        r#"<svg id="{id}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{} totals across the episode"><title>{} totals across the episode</title><text class="chart-name" x="{LEFT}" y="{:.1}">{}</text>"#,
        scale.name,
        scale.name,
        TOP - 2.0,
        scale.name
    );
    for (i, (low, label)) in scale.bands.iter().enumerate() {
        let high = scale.bands.get(i + 1).map_or(f64::from(scale.max) + 1.0, |(next, _)| f64::from(*next));
        let (top, bottom) = (y(high.min(f64::from(scale.max))), y(f64::from(*low)));
        let _ = write!(
            out,
            r#"<rect class="band band-{i}" x="{LEFT}" y="{top:.1}" width="{plot_w}" height="{:.1}"/><text class="band-label" x="{:.1}" y="{:.1}">{label} ({low}+)</text>"#,
            bottom - top,
            LEFT + plot_w + 6.0,
            (top + bottom) / 2.0 + 4.0
        );
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" y1="{b:.1}" x2="{:.1}" y2="{b:.1}"/><text class="tick" x="{:.1}" y="{:.1}">0</text><text class="tick" x="{:.1}" y="{:.1}">{}</text>"#,
        LEFT + plot_w,
        LEFT - 16.0,
        y(0.0) + 4.0,
        LEFT - 20.0,
        y(f64::from(scale.max)) + 8.0,
        scale.max,
        b = y(0.0)
    );
    let _ = write!(
        out,
        r#"<text class="tick" x="{LEFT}" y="{:.1}">{}</text><text class="tick end" x="{:.1}" y="{:.1}">{}</text>"#,
        HEIGHT - 8.0,
        from.format("%Y-%m-%d"),
        LEFT + plot_w,
        HEIGHT - 8.0,
        to.format("%Y-%m-%d")
    );
    if scores.len() > 1 {
        let points: Vec<String> =
            scores.iter().map(|s| format!("{:.1},{:.1}", x(s.at), y(f64::from(s.total)))).collect();
        let _ = write!(out, r#"<polyline class="line" points="{}"/>"#, points.join(" "));
    }
    for s in &scores {
        let _ = write!(
            out,
            r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="5"><title>{} {}: {} ({})</title></circle>"#,
            x(s.at),
            y(f64::from(s.total)),
            scale.name,
            s.at.format("%Y-%m-%d"),
            s.total,
            crate::html::esc(&s.severity)
        );
    }
    if scores.is_empty() {
        let _ =
            write!(out, r#"<text class="empty" x="{:.1}" y="{:.1}">not administered</text>"#, LEFT + 20.0, TOP + 30.0);
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        format!("2026-09-{day:02}T10:00:00Z").parse().unwrap()
    }

    #[test]
    fn one_point_per_score_on_its_day_and_height() {
        let scores = vec![
            Score { at: at(27), total: 4, severity: "minimal".into() },
            Score { at: at(1), total: 27, severity: "severe".into() },
        ];
        let svg = svg(&PHQ9, &scores, at(1), at(27), "phq9");
        assert_eq!(svg.matches("<circle").count(), 2);
        // The maximum sits at the top of the plot, on the first day.
        assert!(svg.contains(&format!(r#"cx="{LEFT:.1}" cy="{TOP:.1}""#)), "{svg}");
        assert!(svg.contains("<polyline"), "a line joins the points");
        assert_eq!(svg.matches("class=\"band ").count(), 5, "five PHQ-9 severity bands");
        assert!(svg.contains("moderately severe (15+)"));
    }

    #[test]
    fn no_scores_says_so() {
        let svg = svg(&GAD7, &[], at(1), at(2), "gad7");
        assert!(svg.contains("not administered") && !svg.contains("<circle"));
        assert_eq!(svg.matches("class=\"band ").count(), 4);
    }
}
