//! Reading a dashboard as Grafana lays it out: rows and their panels in grid
//! order, and what a panel's settings resolve to (its unit, a target's datasource).

use super::model::{Dashboard, DatasourceRef, Link, Panel, Target, Variable};

/// Panels under one row heading (`title` is `None` before the first row).
#[derive(Debug)]
pub struct Section<'a> {
    pub title: Option<&'a str>,
    pub panels: Vec<&'a Panel>,
}

/// The kinds of datasource we can tell apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasourceKind {
    Prometheus,
    Elasticsearch,
    Other(String),
}

impl Dashboard {
    /// Every panel that is not a row, a collapsed row's panels included, in reading
    /// order: what a proof has to check and a snapshot has to render.
    pub fn panels_flat(&self) -> Vec<&Panel> {
        self.sections()
            .into_iter()
            .flat_map(|section| section.panels)
            .collect()
    }

    /// Panels grouped by row. An expanded row's panels follow it in the top-level
    /// list, a collapsed row holds them: both end up under the row's title.
    pub fn sections(&self) -> Vec<Section<'_>> {
        let mut top: Vec<&Panel> = self.panels.iter().collect();
        // Grafana places by gridPos, not by file order; the sort is stable, so
        // panels without a position keep their file order.
        top.sort_by_key(|p| (p.grid_pos.y, p.grid_pos.x));
        let mut sections = vec![Section {
            title: None,
            panels: Vec::new(),
        }];
        for panel in top {
            if panel.is_row() {
                let mut nested: Vec<&Panel> = panel.panels.iter().collect();
                nested.sort_by_key(|p| (p.grid_pos.y, p.grid_pos.x));
                sections.push(Section {
                    title: Some(panel.title.as_str()),
                    panels: nested,
                });
            } else if let Some(current) = sections.last_mut() {
                current.panels.push(panel);
            }
        }
        sections.retain(|s| s.title.is_some() || !s.panels.is_empty());
        sections
    }

    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.templating.list.iter().find(|v| v.name == name)
    }
}

impl Panel {
    pub fn is_row(&self) -> bool {
        self.kind == "row"
    }

    /// The panel-wide unit (`fieldConfig.defaults.unit`), if any.
    pub fn unit(&self) -> Option<&str> {
        self.field_config
            .defaults
            .unit
            .as_deref()
            .filter(|u| !u.is_empty())
    }

    /// The datasource a target runs on: its own, unless it has none or defers to
    /// the panel's (`-- Mixed --` panels name it per target), else the panel's,
    /// else Grafana's default datasource (Prometheus in our provisioning).
    pub fn target_datasource(&self, target: &Target) -> DatasourceRef {
        target
            .datasource
            .clone()
            .filter(|d| d.uid.is_some() || d.kind.is_some())
            .or_else(|| self.datasource.clone())
            .unwrap_or_default()
    }

    /// The threshold steps a time series draws as lines (`custom.thresholdsStyle`
    /// `line`/`dashed`, with or without area): (value, colour name).
    pub fn threshold_lines(&self) -> Vec<(f64, &str)> {
        let defaults = &self.field_config.defaults;
        let mode = defaults
            .custom
            .as_ref()
            .and_then(|c| c["thresholdsStyle"]["mode"].as_str())
            .unwrap_or("off");
        if !(mode.starts_with("line") || mode.starts_with("dashed")) {
            return Vec::new();
        }
        defaults
            .thresholds
            .iter()
            .flat_map(|t| t.steps.iter())
            .filter_map(|s| Some((s.value?, s.color.as_str())))
            .collect()
    }

    /// Series drawn on top of each other (`custom.stacking.mode` `normal`).
    pub fn is_stacked(&self) -> bool {
        self.field_config
            .defaults
            .custom
            .as_ref()
            .and_then(|c| c["stacking"]["mode"].as_str())
            == Some("normal")
    }

    /// The targets Grafana would run (hidden ones are not).
    pub fn visible_targets(&self) -> impl Iterator<Item = &Target> {
        self.targets.iter().filter(|t| !t.hide)
    }

    /// The panel's links and its data links.
    pub fn all_links(&self) -> impl Iterator<Item = &Link> {
        self.links
            .iter()
            .chain(self.field_config.defaults.links.iter())
    }

    /// A per-field override's property, e.g. (`Value #A`, `displayName`).
    pub fn override_property(&self, field: &str, property: &str) -> Option<&serde_json::Value> {
        self.field_config
            .overrides
            .iter()
            .filter(|o| o.matcher.id == "byName" && o.matcher.options.as_str() == Some(field))
            .flat_map(|o| o.properties.iter())
            .find(|p| p.id == property)
            .map(|p| &p.value)
    }
}

impl DatasourceRef {
    /// No reference at all is Grafana's default datasource, Prometheus here.
    pub fn kind(&self) -> DatasourceKind {
        let named = |text: &str| {
            let lower = text.to_ascii_lowercase();
            if lower.contains("prometheus") {
                Some(DatasourceKind::Prometheus)
            } else if lower.contains("elasticsearch") {
                Some(DatasourceKind::Elasticsearch)
            } else {
                None
            }
        };
        match (&self.kind, &self.uid) {
            (Some(kind), _) => named(kind).unwrap_or_else(|| DatasourceKind::Other(kind.clone())),
            (None, None) => DatasourceKind::Prometheus,
            (None, Some(uid)) => named(uid).unwrap_or_else(|| DatasourceKind::Other(uid.clone())),
        }
    }

    pub fn is_prometheus(&self) -> bool {
        self.kind() == DatasourceKind::Prometheus
    }

    /// For messages: `elasticsearch (elasticsearch-logs)`.
    pub fn describe(&self) -> String {
        match (&self.kind, &self.uid) {
            (Some(kind), Some(uid)) => format!("{kind} ({uid})"),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => "default".to_owned(),
        }
    }
}
