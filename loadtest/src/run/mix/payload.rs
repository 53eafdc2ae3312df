//! Valid, realistic request bodies (within the API's limits: names 1-200 characters,
//! titles 1-500, no unknown fields).

use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Value};

const TEAMS: [&str; 6] = [
    "payments", "search", "checkout", "identity", "billing", "mobile",
];
const THINGS: [&str; 6] = [
    "error-rate alert",
    "p99 latency SLO",
    "CPU saturation alert",
    "dashboard",
    "on-call runbook",
    "log retention policy",
];
const VERBS: [&str; 5] = ["Review", "Tune", "Write", "Test", "Document"];

fn pick<'a>(rng: &mut impl Rng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or("service")
}

pub fn project(rng: &mut impl Rng, user: &str, seq: u64) -> Value {
    let team = pick(rng, &TEAMS);
    let mut body = json!({ "name": format!("{team} alerting {user} #{seq}") });
    if rng.random_bool(0.7) {
        body["description"] = json!(format!(
            "Alert rules and dashboards for the {team} service, owned by {user}."
        ));
    }
    body
}

pub fn todo(rng: &mut impl Rng, seq: u64) -> Value {
    let title = format!("{} the {} #{seq}", pick(rng, &VERBS), pick(rng, &THINGS));
    let mut body = json!({ "title": title });
    if rng.random_bool(0.5) {
        body["notes"] = json!("Check last week's incidents and the thresholds in the runbook.");
    }
    if rng.random_bool(0.1) {
        body["done"] = json!(true);
    }
    body
}

pub fn todo_patch(rng: &mut impl Rng, seq: u64) -> Value {
    match rng.random_range(0..3) {
        0 => json!({ "done": true }),
        1 => {
            json!({ "title": format!("{} the {} (v{seq})", pick(rng, &VERBS), pick(rng, &THINGS)) })
        }
        _ => json!({ "notes": null, "done": false }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn bodies_stay_within_the_api_limits() {
        let mut rng = SmallRng::seed_from_u64(1);
        for seq in 0..200 {
            let p = project(&mut rng, "loadtest-user-001", seq);
            let name = p["name"].as_str().unwrap();
            assert!((1..=200).contains(&name.chars().count()));
            let t = todo(&mut rng, seq);
            assert!((1..=500).contains(&t["title"].as_str().unwrap().chars().count()));
            let patch = todo_patch(&mut rng, seq);
            assert!(!patch.as_object().unwrap().is_empty());
            for body in [&p, &t, &patch] {
                for key in body.as_object().unwrap().keys() {
                    assert!(
                        ["name", "description", "title", "notes", "done"].contains(&key.as_str())
                    );
                }
            }
        }
    }
}
