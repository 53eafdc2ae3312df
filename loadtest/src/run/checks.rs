//! Checks on each response's status and body, named as k6 names them ("status is 201").
//! A failed check makes the request count as failed in http_req_failed too.

use serde_json::Value;

use crate::run::mix::{Action, Planned};

#[derive(Clone, Debug, PartialEq)]
pub struct CheckResult {
    pub name: &'static str,
    pub pass: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checked {
    pub results: Vec<CheckResult>,
    /// The id of what a create made, for the user's pool.
    pub created_id: Option<i64>,
}

impl Checked {
    pub fn all_passed(&self) -> bool {
        self.results.iter().all(|c| c.pass)
    }

    pub fn first_failure(&self) -> Option<&'static str> {
        self.results.iter().find(|c| !c.pass).map(|c| c.name)
    }
}

pub fn status_check(expected: u16) -> &'static str {
    match expected {
        201 => "status is 201",
        204 => "status is 204",
        _ => "status is 200",
    }
}

/// The service took our x-request-id (it echoes the id it used): its logs for this
/// request can be found by the id the run prints.
pub fn request_id_echoed(sent: &str, echoed: Option<&str>) -> CheckResult {
    CheckResult {
        name: "x-request-id echoed",
        pass: echoed == Some(sent),
    }
}

pub fn check(planned: &Planned, status: u16, body: &[u8]) -> Checked {
    let action = planned.action;
    let expected = action.expected_status();
    let mut out = Checked::default();
    let status_ok = status == expected;
    out.results.push(CheckResult {
        name: status_check(expected),
        pass: status_ok,
    });
    if expected == 204 {
        out.results.push(CheckResult {
            name: "body is empty",
            pass: body.is_empty(),
        });
        return out;
    }
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let id = json.as_ref().and_then(|v| v["id"].as_i64());
    match action {
        Action::Health => out.results.push(CheckResult {
            name: "body is JSON",
            pass: json.is_some(),
        }),
        Action::ListProjects | Action::ListTodos => out.results.push(CheckResult {
            name: "body is a JSON array",
            pass: json.as_ref().is_some_and(Value::is_array),
        }),
        Action::CreateProject | Action::CreateTodo => {
            let field = if action == Action::CreateProject {
                "name"
            } else {
                "title"
            };
            let sent = planned.body.as_ref().map(|b| &b[field]);
            out.results.push(CheckResult {
                name: "body has the new id",
                pass: id.is_some(),
            });
            out.results.push(CheckResult {
                name: "body echoes what was sent",
                pass: json
                    .as_ref()
                    .is_some_and(|v| Some(&v[field]) == sent && sent.is_some()),
            });
            if status_ok {
                out.created_id = id;
            }
        }
        Action::GetProject | Action::GetTodo | Action::UpdateTodo => {
            out.results.push(CheckResult {
                name: "body has the requested id",
                pass: id.is_some() && id == planned.expect_id,
            });
            if action == Action::UpdateTodo {
                let applied = match (json.as_ref(), planned.body.as_ref()) {
                    (Some(got), Some(sent)) => sent
                        .as_object()
                        .is_some_and(|o| o.iter().all(|(k, v)| &got[k] == v)),
                    _ => false,
                };
                out.results.push(CheckResult {
                    name: "update is applied",
                    pass: applied,
                });
            }
        }
        Action::DeleteProject | Action::DeleteTodo => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn planned(action: Action, body: Option<Value>, expect_id: Option<i64>) -> Planned {
        Planned {
            action,
            path: String::new(),
            body,
            expect_id,
        }
    }

    #[test]
    fn request_ids_must_come_back() {
        assert!(request_id_echoed("lt1-00000001", Some("lt1-00000001")).pass);
        assert!(!request_id_echoed("lt1-00000001", Some("0193f-uuid")).pass);
        assert!(!request_id_echoed("lt1-00000001", None).pass);
    }

    #[test]
    fn table() {
        let create = planned(Action::CreateProject, Some(json!({"name": "a"})), None);
        let patch = planned(Action::UpdateTodo, Some(json!({"done": true})), Some(4));
        let get = planned(Action::GetTodo, None, Some(4));
        let del = planned(Action::DeleteTodo, None, None);
        let cases: Vec<(&Planned, u16, &str, bool, Option<i64>)> = vec![
            (&create, 201, r#"{"id":9,"name":"a"}"#, true, Some(9)),
            (&create, 201, r#"{"id":9,"name":"b"}"#, false, Some(9)),
            (&create, 422, r#"{"error":{}}"#, false, None),
            (&patch, 200, r#"{"id":4,"done":true}"#, true, None),
            (&patch, 200, r#"{"id":4,"done":false}"#, false, None),
            (&get, 200, r#"{"id":4}"#, true, None),
            (&get, 200, r#"{"id":5}"#, false, None),
            (&get, 404, r#"{"error":{}}"#, false, None),
            (&del, 204, "", true, None),
            (&del, 404, "{}", false, None),
        ];
        for (p, status, body, pass, created) in cases {
            let c = check(p, status, body.as_bytes());
            assert_eq!(
                c.all_passed(),
                pass,
                "{:?} {status} {body}: {c:?}",
                p.action
            );
            assert_eq!(c.created_id, created, "{:?} {status} {body}", p.action);
        }
    }
}
