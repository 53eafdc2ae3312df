//! The provisioned Grafana dashboards (`grafana/dashboards/*.json`) as data:
//! what `oncall snapshot` renders and what the dashboard proof runs. Nothing
//! here renders; it loads, lays out, substitutes and resolves.
//!
//! - [`load_dir`]`(dir) -> Vec<Dashboard>` (every `*.json` under `dir`, sorted by
//!   path, `Dashboard::source` set), [`load_file`], [`find`]`(dir, uid)`.
//! - [`Dashboard`]: `uid`, `title`, `templating.list` ([`Variable`]: `name`,
//!   `kind`, `query`, `all_value`, `include_all`, `multi`, `current`), `panels`
//!   ([`Panel`]: `id`, `kind`, `title`, `grid_pos`, `datasource`, `field_config`
//!   (`defaults.unit`, `defaults.links`, `overrides`), `links`, `targets`
//!   ([`Target`]: `ref_id`, `expr`, `legend_format`, `instant`, `range`,
//!   `exemplar`, `format`, `hide`, `datasource`, `query` for Elasticsearch),
//!   `transformations`, `options`, `panels` of a collapsed row), `annotations.list`
//!   ([`Annotation`]: `name`, `expr`, `datasource`, `enable`).
//! - Layout: `Dashboard::panels_flat()` (every non-row panel, rows' children
//!   included, in grid order), `Dashboard::sections()` (grouped by row),
//!   `Panel::target_datasource(&target)` (the effective [`DatasourceRef`];
//!   `.kind()` is Prometheus / Elasticsearch / Other, none = the default,
//!   Prometheus), `Panel::unit()`, `Panel::visible_targets()`, `Panel::all_links()`,
//!   `Panel::threshold_lines()`, `Panel::is_stacked()`, `Panel::override_property()`.
//! - Time: [`TimeRange`]`::last(span, now)`, [`Intervals`]`::for_range(&range,
//!   MAX_DATA_POINTS, SCRAPE_INTERVAL)` (`$__interval` = the range query step,
//!   `$__rate_interval`).
//! - Substitution: a [`Scope`] holds the time range, intervals and variable
//!   values; `scope.interpolate(expr)` gives the PromQL Grafana would send
//!   (errors on an unknown variable); `scope.interpolate_as(text, Format::Raw)`
//!   for links. [`references`] lists the `$var`s of a text.
//! - Variables: [`bind_all`]`(&prometheus, &dashboard, Scope::new(range,
//!   intervals), &chosen)` binds every variable (options from Prometheus,
//!   `chosen` overrides: [`Selection::All`] or `Selection::Values`);
//!   [`parse_label_values`] + [`label_values`] resolve one `label_values(metric,
//!   label)` query.
//!
//! ```no_run
//! # async fn proof() -> anyhow::Result<()> {
//! use oncall::dashboards::{self, Intervals, Scope, TimeRange, MAX_DATA_POINTS, SCRAPE_INTERVAL};
//! let prometheus = oncall::prometheus::Prometheus::new(
//!     "http://127.0.0.1:9090".parse()?, std::time::Duration::from_secs(30))?;
//! for dashboard in dashboards::load_dir("grafana/dashboards".as_ref())? {
//!     let range = TimeRange::last(std::time::Duration::from_secs(900), chrono::Utc::now());
//!     let intervals = Intervals::for_range(&range, MAX_DATA_POINTS, SCRAPE_INTERVAL);
//!     let scope = dashboards::bind_all(&prometheus, &dashboard,
//!         Scope::new(range, intervals), &Default::default()).await?;
//!     for panel in dashboard.panels_flat() {
//!         for target in panel.visible_targets() {
//!             if panel.target_datasource(target).is_prometheus() {
//!                 let expr = scope.interpolate(&target.expr)?;
//!                 let data = prometheus.query(&expr, range.to).await?;
//!                 assert!(!data.is_empty(), "{}: {expr}", panel.title);
//!             }
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```

mod layout;
mod load;
mod model;
mod range;
mod substitute;
mod variables;

pub use layout::{DatasourceKind, Section};
pub use load::{find, load_dir, load_file, LoadError};
pub use model::{
    Annotation, Annotations, Current, Dashboard, DatasourceRef, FieldConfig, FieldDefaults,
    GridPos, Link, Matcher, Override, Panel, Property, Target, Templating, ThresholdStep,
    Thresholds, Transformation, Variable,
};
pub use range::{promql_duration, Intervals, TimeRange, MAX_DATA_POINTS, SCRAPE_INTERVAL};
pub use substitute::{
    prometheus_regex_escape, prometheus_string_escape, references, regex_escape, Binding, Format,
    Reference, Scope, Selection, SubstitutionError,
};
pub use variables::{
    bind_all, default_selection, label_values, options, parse_label_values, LabelValuesQuery,
    VariableError,
};

#[cfg(test)]
mod tests;
