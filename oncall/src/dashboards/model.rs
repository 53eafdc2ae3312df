//! The parts of Grafana's dashboard JSON that we read, as serde types. Everything
//! else in a dashboard file is ignored, so Grafana's own fields can change freely;
//! what is here defaults when absent, as Grafana does.

use serde::de::{self, Deserializer};
use serde::Deserialize;

/// One dashboard file (`grafana/dashboards/*.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct Dashboard {
    /// The file it was loaded from (set by [`super::load_file`]; empty otherwise).
    #[serde(skip)]
    pub source: std::path::PathBuf,
    pub uid: String,
    pub title: String,
    #[serde(default)]
    pub templating: Templating,
    #[serde(default)]
    pub annotations: Annotations,
    /// Top-level panels in file order; a collapsed `row` holds its own in `panels`.
    #[serde(default)]
    pub panels: Vec<Panel>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Templating {
    #[serde(default)]
    pub list: Vec<Variable>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Annotations {
    #[serde(default)]
    pub list: Vec<Annotation>,
}

/// A query whose results mark times on every time series panel (alerts firing).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub datasource: Option<DatasourceRef>,
    #[serde(default = "enabled")]
    pub enable: bool,
    /// PromQL (Prometheus annotations); Grafana's built-in ones have none.
    #[serde(default)]
    pub expr: String,
    #[serde(default)]
    pub title_format: Option<String>,
    #[serde(default)]
    pub icon_color: Option<String>,
}

fn enabled() -> bool {
    true
}

/// A dashboard variable (`$route`, `$method`, ...).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    pub name: String,
    /// `query`, `custom`, `constant`, `interval`, `textbox`, `datasource`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Grafana writes it either as a string or as `{"query": "...", ...}`; both land here.
    #[serde(default, deserialize_with = "query_text")]
    pub query: String,
    /// What "All" becomes in a query (e.g. `.*`); unset: every option, as an alternation.
    #[serde(default)]
    pub all_value: Option<String>,
    #[serde(default)]
    pub include_all: bool,
    #[serde(default)]
    pub multi: bool,
    #[serde(default)]
    pub datasource: Option<DatasourceRef>,
    /// The value saved with the dashboard; `$__all` means All.
    #[serde(default)]
    pub current: Option<Current>,
}

/// A variable's saved value: one string or several (multi-value variables).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Current {
    #[serde(default, deserialize_with = "one_or_many")]
    pub value: Vec<String>,
}

/// A panel; `row` panels group the panels that follow them (or, collapsed, hold them).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    #[serde(default)]
    pub id: u64,
    /// `timeseries`, `stat`, `gauge`, `table`, `logs`, `row`, `text`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub grid_pos: GridPos,
    #[serde(default)]
    pub datasource: Option<DatasourceRef>,
    #[serde(default)]
    pub field_config: FieldConfig,
    #[serde(default)]
    pub links: Vec<Link>,
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Only on `row` panels: the panels of a collapsed row.
    #[serde(default)]
    pub panels: Vec<Panel>,
    /// Panel-specific settings (a stat's `reduceOptions`, a text panel's content).
    #[serde(default)]
    pub options: Option<serde_json::Value>,
    /// Applied in order to the query results (tables: `merge`, `organize`, `sortBy`).
    #[serde(default)]
    pub transformations: Vec<Transformation>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Transformation {
    pub id: String,
    #[serde(default)]
    pub options: serde_json::Value,
}

/// Position on Grafana's 24-column grid.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub struct GridPos {
    #[serde(default)]
    pub h: u32,
    #[serde(default)]
    pub w: u32,
    #[serde(default)]
    pub x: u32,
    #[serde(default)]
    pub y: u32,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct FieldConfig {
    #[serde(default)]
    pub defaults: FieldDefaults,
    /// Per-field settings (e.g. a table column's name or unit).
    #[serde(default)]
    pub overrides: Vec<Override>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDefaults {
    /// Grafana's unit id: `s`, `ms`, `percentunit`, `reqps`, `bytes`, `short`, ...
    #[serde(default)]
    pub unit: Option<String>,
    /// Data links (clicking a point or a value).
    #[serde(default)]
    pub links: Vec<Link>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub thresholds: Option<Thresholds>,
    /// The panel type's own settings (`thresholdsStyle`, `stacking`, `fillOpacity`, ...).
    #[serde(default)]
    pub custom: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Thresholds {
    #[serde(default)]
    pub steps: Vec<ThresholdStep>,
}

/// A colour from `value` up; the first step's value is null (minus infinity).
#[derive(Debug, Clone, Deserialize)]
pub struct ThresholdStep {
    #[serde(default)]
    pub color: String,
    #[serde(default)]
    pub value: Option<f64>,
}

/// `{"matcher": {"id": "byName", "options": "Value #A"}, "properties": [{"id": "unit", "value": "s"}]}`
#[derive(Debug, Clone, Deserialize)]
pub struct Override {
    pub matcher: Matcher,
    #[serde(default)]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Matcher {
    pub id: String,
    #[serde(default)]
    pub options: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Property {
    pub id: String,
    #[serde(default)]
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub target_blank: bool,
}

/// One query of a panel.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    #[serde(default)]
    pub ref_id: String,
    /// PromQL (Prometheus targets).
    #[serde(default)]
    pub expr: String,
    /// Lucene (Elasticsearch targets).
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub legend_format: Option<String>,
    #[serde(default)]
    pub instant: Option<bool>,
    #[serde(default)]
    pub range: Option<bool>,
    #[serde(default)]
    pub exemplar: Option<bool>,
    /// `time_series` (default) or `table`.
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub hide: bool,
    #[serde(default)]
    pub datasource: Option<DatasourceRef>,
}

/// `{"type": "prometheus", "uid": "prometheus"}`; old dashboards write a bare name,
/// which lands in `uid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasourceRef {
    pub kind: Option<String>,
    pub uid: Option<String>,
}

impl<'de> Deserialize<'de> for DatasourceRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Object {
                #[serde(rename = "type", default)]
                kind: Option<String>,
                #[serde(default)]
                uid: Option<String>,
            },
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Name(name) => DatasourceRef {
                kind: None,
                uid: Some(name),
            },
            Raw::Object { kind, uid } => DatasourceRef { kind, uid },
        })
    }
}

fn query_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Object {
            #[serde(default)]
            query: String,
        },
        Other(serde_json::Value),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::Text(text) => text,
        Raw::Object { query } => query,
        Raw::Other(serde_json::Value::Null) => String::new(),
        Raw::Other(other) => {
            return Err(de::Error::custom(format!(
                "a variable query is a string or {{\"query\": ...}}, not {other}"
            )))
        }
    })
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
        Null(()),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::One(one) => vec![one],
        Raw::Many(many) => many,
        Raw::Null(()) => Vec::new(),
    })
}
