//! How `oncall logs` prints records: a readable table (the default on a
//! terminal), NDJSON as the server sent it, or CSV with fixed columns.

use std::io::Write;

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Ndjson,
    Csv,
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "@timestamp",
    "log.level",
    "service.name",
    "request_id",
    "trace.id",
    "span.id",
    "user.id",
    "http.request.method",
    "http.route",
    "http.response.status_code",
    "url.path",
    "project.id",
    "todo.id",
    "duration_ms",
    "message",
    "error.type",
    "error.message",
];

/// The table's columns and widths (the last one takes the rest of the line).
const TABLE: &[(&str, usize)] = &[
    ("@timestamp", 24),
    ("log.level", 5),
    ("request_id", 28),
    ("http.route", 28),
    ("http.response.status_code", 6),
    ("message", 0),
];

/// A field of a record: the flat dotted key the exporter writes, else the nested path.
pub fn field(doc: &Value, name: &str) -> String {
    let value = doc
        .get(name)
        .or_else(|| name.split('.').try_fold(doc, |v, part| v.get(part)));
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Control characters become spaces, so one record stays one table row.
fn one_line(text: &str, width: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if width == 0 || clean.chars().count() <= width {
        return clean;
    }
    let mut cut: String = clean.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

pub trait Renderer {
    fn header(&mut self) -> std::io::Result<()>;
    /// One NDJSON line as received.
    fn record(&mut self, line: &[u8]) -> std::io::Result<()>;
    fn finish(&mut self) -> std::io::Result<()>;
}

pub fn renderer<'a, W: Write + 'a>(format: Format, out: W) -> Box<dyn Renderer + 'a> {
    match format {
        Format::Ndjson => Box::new(Ndjson(out)),
        Format::Csv => Box::new(Csv(csv::Writer::from_writer(out))),
        Format::Table => Box::new(Table(out)),
    }
}

struct Ndjson<W>(W);

impl<W: Write> Renderer for Ndjson<W> {
    fn header(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn record(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.0.write_all(line)?;
        self.0.write_all(b"\n")
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn parse(line: &[u8]) -> Value {
    serde_json::from_slice(line).unwrap_or(Value::Null)
}

struct Csv<W: Write>(csv::Writer<W>);

impl<W: Write> Renderer for Csv<W> {
    fn header(&mut self) -> std::io::Result<()> {
        self.0
            .write_record(CSV_COLUMNS)
            .map_err(std::io::Error::other)
    }
    fn record(&mut self, line: &[u8]) -> std::io::Result<()> {
        let doc = parse(line);
        self.0
            .write_record(CSV_COLUMNS.iter().map(|c| field(&doc, c)))
            .map_err(std::io::Error::other)
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

struct Table<W>(W);

impl<W: Write> Table<W> {
    fn row(&mut self, cells: &[String]) -> std::io::Result<()> {
        let mut line = String::new();
        for ((_, width), cell) in TABLE.iter().zip(cells) {
            if *width == 0 {
                line.push_str(&one_line(cell, 0));
            } else {
                let text = one_line(cell, *width);
                line.push_str(&text);
                line.extend(std::iter::repeat_n(' ', width - text.chars().count() + 2));
            }
        }
        writeln!(self.0, "{}", line.trim_end())
    }
}

impl<W: Write> Renderer for Table<W> {
    fn header(&mut self) -> std::io::Result<()> {
        let names = ["TIME", "LEVEL", "REQUEST ID", "ROUTE", "STATUS", "MESSAGE"].map(String::from);
        self.row(&names)
    }
    fn record(&mut self, line: &[u8]) -> std::io::Result<()> {
        let doc = parse(line);
        let cells: Vec<String> = TABLE.iter().map(|(name, _)| field(&doc, name)).collect();
        self.row(&cells)
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"@timestamp":"2026-12-01T18:32:55.839Z","log.level":"INFO","request_id":"r-1","http.route":"/projects/{project_id}","http.response.status_code":201,"message":"done, \"ok\"\nnext","user.id":"u_00","error":{"type":"Io"}}"#;

    fn render(format: Format) -> String {
        let mut out = Vec::new();
        {
            let mut r = renderer(format, &mut out);
            r.header().expect("header");
            r.record(DOC.as_bytes()).expect("record");
            r.finish().expect("finish");
        }
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn csv_has_fixed_columns_and_quotes() {
        let text = render(Format::Csv);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().expect("headers").clone();
        assert_eq!(headers.iter().collect::<Vec<_>>(), CSV_COLUMNS);
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert_eq!(rows.len(), 1);
        let get = |name: &str| {
            let i = CSV_COLUMNS.iter().position(|c| *c == name).expect("column");
            rows[0][i].to_owned()
        };
        assert_eq!(get("request_id"), "r-1");
        assert_eq!(get("http.response.status_code"), "201");
        assert_eq!(get("message"), "done, \"ok\"\nnext");
        assert_eq!(get("error.type"), "Io", "nested fields too");
        assert_eq!(get("trace.id"), "");
    }

    #[test]
    fn the_table_is_one_row_per_record() {
        let text = render(Format::Table);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("TIME"));
        assert!(
            lines[1].contains("r-1")
                && lines[1].contains("201")
                && lines[1].ends_with("done, \"ok\" next")
        );
        assert_eq!(one_line("abcdef", 4), "abc…");
    }

    #[test]
    fn ndjson_passes_lines_through() {
        assert_eq!(render(Format::Ndjson), format!("{DOC}\n"));
    }
}
