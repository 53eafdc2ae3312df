//! Values written as Grafana writes them for a panel's unit (`s`, `ms`,
//! `percentunit`, `reqps`, `bytes`, ...): the stat's big number, the table's
//! cells and a chart's axis.

/// `value` in `unit` (Grafana's unit ids; unknown ones as plain numbers).
pub fn format_value(value: f64, unit: Option<&str>) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    match unit.unwrap_or("") {
        "s" => duration(value),
        "ms" => duration(value / 1e3),
        "us" | "µs" => duration(value / 1e6),
        "ns" => duration(value / 1e9),
        "percentunit" => format!("{}%", number(value * 100.0)),
        "percent" => format!("{}%", number(value)),
        "reqps" => format!("{} req/s", short(value)),
        "ops" => format!("{} ops/s", short(value)),
        "rps" => format!("{} rd/s", short(value)),
        "wps" => format!("{} wr/s", short(value)),
        "bytes" => scaled(value, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB"]),
        "decbytes" => scaled(value, 1000.0, &["B", "kB", "MB", "GB", "TB"]),
        "none" => number(value),
        _ => short(value),
    }
}

fn duration(seconds: f64) -> String {
    let a = seconds.abs();
    if a == 0.0 {
        "0 s".to_owned()
    } else if a < 1e-3 {
        format!("{} µs", number(seconds * 1e6))
    } else if a < 1.0 {
        format!("{} ms", number(seconds * 1e3))
    } else if a < 60.0 {
        format!("{} s", number(seconds))
    } else if a < 3600.0 {
        format!("{} min", number(seconds / 60.0))
    } else if a < 86_400.0 {
        format!("{} h", number(seconds / 3600.0))
    } else {
        format!("{} day", number(seconds / 86_400.0))
    }
}

/// Thousands as k, millions as M, ... (Grafana's `short`).
fn short(value: f64) -> String {
    let a = value.abs();
    let (scaled, suffix) = if a >= 1e12 {
        (value / 1e12, " T")
    } else if a >= 1e9 {
        (value / 1e9, " G")
    } else if a >= 1e6 {
        (value / 1e6, " M")
    } else if a >= 1e3 {
        (value / 1e3, " k")
    } else {
        (value, "")
    };
    format!("{}{suffix}", number(scaled))
}

fn scaled(value: f64, step: f64, units: &[&str]) -> String {
    let mut v = value;
    let mut i = 0;
    while v.abs() >= step && i + 1 < units.len() {
        v /= step;
        i += 1;
    }
    format!("{} {}", number(v), units[i])
}

/// About three significant digits, no trailing zeros.
fn number(value: f64) -> String {
    let a = value.abs();
    let decimals = if a == 0.0 || a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        // 0.0123 -> 4 decimals: three significant digits below 1.
        (2 - a.log10().floor() as i32).clamp(0, 9) as usize
    };
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if text == "-0" {
        "0".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(format_value(0.25, Some("s")), "250 ms");
        assert_eq!(format_value(0.0012, Some("s")), "1.2 ms");
        assert_eq!(format_value(0.00005, Some("s")), "50 µs");
        assert_eq!(format_value(1.5, Some("s")), "1.5 s");
        assert_eq!(format_value(90.0, Some("s")), "1.5 min");
        assert_eq!(format_value(250.0, Some("ms")), "250 ms");
        assert_eq!(format_value(0.0, Some("s")), "0 s");
    }

    #[test]
    fn rates_percentages_and_bytes() {
        assert_eq!(format_value(12.345, Some("reqps")), "12.3 req/s");
        assert_eq!(format_value(0.0531, Some("percentunit")), "5.31%");
        assert_eq!(format_value(1.0, Some("percentunit")), "100%");
        assert_eq!(format_value(45.0, Some("percent")), "45%");
        assert_eq!(
            format_value(3.5 * 1024.0 * 1024.0, Some("bytes")),
            "3.5 MiB"
        );
        assert_eq!(format_value(1500.0, Some("decbytes")), "1.5 kB");
        assert_eq!(format_value(2_500_000.0, Some("short")), "2.5 M");
        assert_eq!(format_value(7.0, None), "7");
        assert_eq!(format_value(-0.0001, None), "-0.0001");
    }

    #[test]
    fn special_values_are_named() {
        assert_eq!(format_value(f64::NAN, Some("s")), "NaN");
        assert_eq!(format_value(f64::INFINITY, Some("s")), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY, None), "-Inf");
    }
}
