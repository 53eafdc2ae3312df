//! elastic/ilm/ (the ILM policies and index templates for a full
//! Elasticsearch) says the same as `oncall`'s retention: the delete phase
//! follows ONCALL_RETENTION_DAYS's default, the templates name the policies,
//! and they are the stack's templates otherwise.

use std::path::PathBuf;

use oncall::retention::{DAILY_PREFIXES, DEFAULT_RETENTION_DAYS};
use serde_json::Value;

fn json(path: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

#[test]
fn ilm_policies_and_templates_match_the_retention_setting() {
    for prefix in DAILY_PREFIXES {
        let kind = prefix.trim_end_matches("-alertingscout");
        let policy = json(&format!("elastic/ilm/alertingscout-{kind}-policy.json"));
        let delete = &policy["policy"]["phases"]["delete"];
        // ILM counts an index's age from its creation, the start of its UTC day;
        // oncall keeps day D-N at date D and deletes D-(N+1): the same instant
        // is min_age N+1 days.
        assert_eq!(
            delete["min_age"],
            format!("{}d", DEFAULT_RETENTION_DAYS + 1),
            "{kind}: delete phase"
        );
        assert!(
            delete["actions"]["delete"].is_object(),
            "{kind}: delete action"
        );

        let template = json(&format!("elastic/ilm/{kind}-template.json"));
        assert_eq!(
            template["template"]["settings"]["index.lifecycle.name"],
            format!("alertingscout-{kind}"),
            "{kind}: the template names the policy"
        );
        assert_eq!(
            template["index_patterns"],
            serde_json::json!([format!("{prefix}-*")]),
            "{kind}: only the daily indices"
        );
        // Otherwise the stack's template (elastic/templates/), so they cannot drift.
        let stack = json(&format!("elastic/templates/{kind}-template.json"));
        assert_eq!(
            template["template"]["mappings"], stack["template"]["mappings"],
            "{kind}"
        );
        let mut settings = template["template"]["settings"].clone();
        if let Some(s) = settings.as_object_mut() {
            s.remove("index.lifecycle.name");
        }
        assert_eq!(settings, stack["template"]["settings"], "{kind}");
    }
}
