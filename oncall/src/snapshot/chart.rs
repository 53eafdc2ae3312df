//! Line charts as inline SVG, drawn by plotters' SVG backend into a string: the
//! time axis in UTC, the value axis in the panel's unit, one colour per series
//! (the legend is the page's, in HTML, so long names wrap instead of covering
//! the plot).

use std::time::Duration;

use chrono::{DateTime, Utc};
use plotters::prelude::*;

use super::units::format_value;
use crate::dashboards::TimeRange;

/// Grafana's classic palette, so a snapshot reads like the dashboard.
pub const PALETTE: [RGBColor; 12] = [
    RGBColor(0x73, 0xBF, 0x69),
    RGBColor(0xF2, 0xCC, 0x0C),
    RGBColor(0x56, 0x94, 0xF2),
    RGBColor(0xFF, 0x98, 0x30),
    RGBColor(0xF2, 0x49, 0x5C),
    RGBColor(0xB8, 0x77, 0xD9),
    RGBColor(0x37, 0x87, 0x2D),
    RGBColor(0xE0, 0xB4, 0x00),
    RGBColor(0x1F, 0x60, 0xC4),
    RGBColor(0xFA, 0x64, 0x00),
    RGBColor(0xC4, 0x16, 0x2A),
    RGBColor(0x8F, 0x3B, 0xB8),
];

pub fn color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// `#rrggbb`, for the HTML legend's swatches.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// One series: (seconds since the epoch, value) points, NaN and ±Inf allowed.
pub struct Line {
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
}

/// Everything about a chart but its lines.
pub struct Frame<'a> {
    pub range: &'a TimeRange,
    /// The query's step: a longer gap between two points is missing data and
    /// breaks the line instead of bridging it.
    pub step: Duration,
    pub unit: Option<&'a str>,
    pub size: (u32, u32),
    /// Horizontal dashed lines (the panel's thresholds), drawn when in range.
    pub thresholds: Vec<(f64, RGBColor)>,
}

/// The chart as an `<svg>` element.
pub fn line_chart(lines: &[Line], frame: &Frame) -> Result<String, String> {
    let (range, unit, size) = (frame.range, frame.unit, frame.size);
    let (x0, x1) = (
        range.from,
        range.to.max(range.from + chrono::Duration::seconds(1)),
    );
    let (y0, y1) = value_range(lines);
    let span = (x1 - x0).num_seconds();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .margin_right(16)
            .x_label_area_size(26)
            .y_label_area_size(78)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        let x_label = |x: &DateTime<Utc>| time_label(*x, span);
        let y_label = |y: &f64| format_value(*y, unit);
        chart
            .configure_mesh()
            .x_labels(7)
            .y_labels(6)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .bold_line_style(RGBColor(0xE4, 0xE4, 0xE4))
            // At most one light line between labels: the default ten add ~100
            // elements per chart for little reading value (and 0 overflows
            // plotters' time axis arithmetic).
            .max_light_lines(1)
            .light_line_style(RGBColor(0xF6, 0xF6, 0xF6))
            .axis_style(RGBColor(0xB0, 0xB0, 0xB0))
            .label_style(
                ("sans-serif", 14)
                    .into_font()
                    .color(&RGBColor(0x44, 0x44, 0x44)),
            )
            .draw()
            .map_err(|e| e.to_string())?;
        // Like Grafana, thresholds do not stretch the axis: a 1 s line on a
        // chart of milliseconds would flatten the data.
        for &(value, color) in frame.thresholds.iter().filter(|t| t.0 > y0 && t.0 < y1) {
            chart
                .draw_series(DashedLineSeries::new(
                    [(x0, value), (x1, value)],
                    6,
                    4,
                    color.stroke_width(1),
                ))
                .map_err(|e| e.to_string())?;
        }
        let gap = frame.step.as_secs_f64().max(1.0) * 2.5;
        for line in lines {
            for segment in segments(&line.points, gap) {
                let segment: Vec<(DateTime<Utc>, f64)> = segment
                    .into_iter()
                    .filter_map(|(t, v)| Some((at(t)?, v)))
                    .collect();
                if let [only] = segment.as_slice() {
                    // A lone point draws no line: a dot, or it would vanish.
                    chart
                        .draw_series(std::iter::once(Circle::new(*only, 2, line.color.filled())))
                        .map_err(|e| e.to_string())?;
                } else {
                    chart
                        .draw_series(LineSeries::new(segment, line.color.stroke_width(2)))
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Grafana's "normal" stacking: each series drawn on top of the ones before
/// it, at the same timestamps; a missing value adds nothing.
pub fn stack(lines: &mut [Line]) {
    let mut below: std::collections::HashMap<u64, f64> = std::collections::HashMap::new();
    for line in lines {
        for (t, v) in &mut line.points {
            if v.is_finite() {
                let sum = below.entry(t.to_bits()).or_insert(0.0);
                *sum += *v;
                *v = *sum;
            }
        }
    }
}

/// A Grafana colour name (or `#rrggbb`) as RGB; unknown names are grey.
pub fn named_color(name: &str) -> RGBColor {
    let hex = |h: &str| u8::from_str_radix(h, 16).ok();
    if let Some(h) = name.strip_prefix('#').filter(|h| h.len() == 6) {
        if let (Some(r), Some(g), Some(b)) = (hex(&h[0..2]), hex(&h[2..4]), hex(&h[4..6])) {
            return RGBColor(r, g, b);
        }
    }
    match name {
        "green" => RGBColor(0x73, 0xBF, 0x69),
        "red" => RGBColor(0xF2, 0x49, 0x5C),
        "dark-red" => RGBColor(0xC4, 0x16, 0x2A),
        "yellow" => RGBColor(0xFA, 0xDE, 0x2A),
        "orange" => RGBColor(0xFF, 0x98, 0x30),
        "blue" => RGBColor(0x56, 0x94, 0xF2),
        "purple" => RGBColor(0xB8, 0x77, 0xD9),
        _ => RGBColor(0x8E, 0x8E, 0x8E),
    }
}

/// Runs of finite points no further apart than `gap` seconds.
fn segments(points: &[(f64, f64)], gap: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for &(t, v) in points {
        let broken = !v.is_finite() || current.last().is_some_and(|&(pt, _)| t - pt > gap);
        if broken && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if v.is_finite() {
            current.push((t, v));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// From zero (or the lowest value, if negative) to a little above the highest.
fn value_range(lines: &[Line]) -> (f64, f64) {
    let finite = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((0.0f64, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = (hi - lo).abs() * 0.08;
    if pad == 0.0 {
        (lo, lo + 1.0)
    } else {
        (if lo < 0.0 { lo - pad } else { lo }, hi + pad)
    }
}

fn at(seconds: f64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis((seconds * 1000.0) as i64)
}

/// `14:05` (UTC); with the date once the range spans days.
fn time_label(t: DateTime<Utc>, span: i64) -> String {
    if span > 86_400 * 2 {
        t.format("%m-%d %H:%M").to_string()
    } else if span < 300 {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range() -> TimeRange {
        let now = "2026-01-01T12:00:00Z".parse().expect("time");
        TimeRange::last(Duration::from_secs(600), now)
    }

    #[test]
    fn gaps_and_non_finite_values_break_lines() {
        let points = [
            (0.0, 1.0),
            (5.0, 2.0),
            (10.0, f64::NAN),
            (15.0, 3.0),
            (20.0, f64::INFINITY),
            (25.0, 4.0),
            (100.0, 5.0),
        ];
        let s = segments(&points, 12.5);
        assert_eq!(
            s,
            vec![
                vec![(0.0, 1.0), (5.0, 2.0)],
                vec![(15.0, 3.0)],
                vec![(25.0, 4.0)],
                vec![(100.0, 5.0)]
            ]
        );
    }

    #[test]
    fn the_value_axis_starts_at_zero_and_survives_flat_or_empty_data() {
        let line = |v: Vec<f64>| Line {
            color: color(0),
            points: v
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i as f64, v))
                .collect(),
        };
        assert_eq!(value_range(&[line(vec![])]), (0.0, 1.0));
        assert_eq!(value_range(&[line(vec![0.0, 0.0])]), (0.0, 1.0));
        let (lo, hi) = value_range(&[line(vec![2.0, 10.0, f64::INFINITY])]);
        assert_eq!(lo, 0.0);
        assert!(hi > 10.0 && hi < 11.0, "{hi}");
        let (lo, _) = value_range(&[line(vec![-4.0, 4.0])]);
        assert!(lo < -4.0);
    }

    #[test]
    fn a_chart_is_one_svg_with_a_path_per_line_and_axis_labels_in_the_unit() {
        let r = range();
        let t0 = r.from.timestamp() as f64;
        let lines = [
            Line {
                color: color(0),
                points: (0..120)
                    .map(|i| (t0 + i as f64 * 5.0, 0.1 + i as f64 / 1000.0))
                    .collect(),
            },
            Line {
                color: color(1),
                points: vec![(t0 + 300.0, 0.2)],
            },
        ];
        let frame = Frame {
            range: &r,
            step: Duration::from_secs(5),
            unit: Some("s"),
            size: (600, 240),
            thresholds: vec![(0.15, named_color("red")), (1.0, named_color("dark-red"))],
        };
        let svg = line_chart(&lines, &frame).expect("renders");
        assert!(svg.starts_with("<svg"), "{}", &svg[..60]);
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.contains("<polyline"), "a line is drawn");
        assert!(svg.contains("<circle"), "a lone point is a dot");
        assert!(
            svg.contains("\n100 ms\n</text>"),
            "value labels carry the unit"
        );
        assert!(
            svg.contains("\n11:54\n</text>"),
            "time labels in UTC: {svg}"
        );
        assert!(
            !svg.contains(":30\n</text>"),
            "ticks on whole minutes: {svg}"
        );
        assert!(svg.contains(&hex(color(0)).to_uppercase()));
        // The 150 ms threshold is in range and dashed (short segments); 1 s is not drawn.
        assert!(
            svg.matches("stroke=\"#F2495C\"").count() > 10,
            "dashed red line"
        );
        assert!(
            !svg.contains("#C4162A"),
            "an off-axis threshold is left out"
        );
    }

    #[test]
    fn stacking_adds_each_series_onto_the_ones_before() {
        let mut lines = vec![
            Line {
                color: color(0),
                points: vec![(0.0, 1.0), (5.0, 2.0)],
            },
            Line {
                color: color(1),
                points: vec![(0.0, 10.0), (5.0, f64::NAN), (10.0, 3.0)],
            },
        ];
        stack(&mut lines);
        assert_eq!(lines[1].points[0], (0.0, 11.0));
        assert!(lines[1].points[1].1.is_nan());
        assert_eq!(lines[1].points[2], (10.0, 3.0));
    }

    #[test]
    fn grafana_colour_names_and_hex_resolve() {
        assert_eq!(named_color("red"), RGBColor(0xF2, 0x49, 0x5C));
        assert_eq!(named_color("#102030"), RGBColor(0x10, 0x20, 0x30));
        assert_eq!(named_color("#10203"), RGBColor(0x8E, 0x8E, 0x8E));
    }
}
