//! One iteration, run inside a goose transaction: wait for the due time (open model), plan
//! the next request of the mix, send it through goose with a unique x-request-id and the
//! user's x-user-id, check the answer, record the outcome.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use goose::goose::{GooseMethod, GooseRequest, GooseResponse, GooseUser, TransactionResult};

use crate::run::checks::{self, CheckResult, Checked};
use crate::run::executor::Context;
use crate::run::mix::{Action, Planned, UserState};
use crate::run::recorder::{Failure, RequestSample};
use crate::run::request_log::{unix_ms, RequestLine};

fn method(action: Action) -> GooseMethod {
    match action.method() {
        "POST" => GooseMethod::Post,
        "PATCH" => GooseMethod::Patch,
        "DELETE" => GooseMethod::Delete,
        _ => GooseMethod::Get,
    }
}

fn plan(ctx: &Context, user: &mut GooseUser) -> (Planned, String) {
    if user.get_session_data::<UserState>().is_none() {
        let i = user.weighted_users_index;
        let id = ctx.user_ids[i % ctx.user_ids.len()].clone();
        user.set_session_data(UserState::new(
            id,
            ctx.seed ^ (i as u64).wrapping_mul(0x9e37),
        ));
    }
    match user.get_session_data_mut::<UserState>() {
        Some(state) => (state.plan(&ctx.mix), state.user_id.clone()),
        // Set just above; kept total rather than unwrapped.
        None => (
            Planned {
                action: Action::Health,
                path: "/health".into(),
                body: None,
                expect_id: None,
            },
            ctx.user_ids[0].clone(),
        ),
    }
}

/// The answer as far as it came: status and body, or why there was none.
struct Answer {
    status: u16,
    body: Vec<u8>,
    error: Option<String>,
}

impl Answer {
    fn none(error: String) -> Answer {
        Answer {
            status: 0,
            body: Vec::new(),
            error: Some(error),
        }
    }
}

/// Sends one planned request through goose and checks the answer.
async fn exchange(
    user: &mut GooseUser,
    planned: &Planned,
    request_id: &str,
    user_id: &str,
) -> (Answer, Checked) {
    let action = planned.action;
    let m = method(action);
    match user.get_request_builder(&m, &planned.path) {
        Ok(mut builder) => {
            builder = builder
                .header("x-request-id", request_id)
                .header("x-user-id", user_id);
            if let Some(body) = &planned.body {
                builder = builder
                    .header("content-type", "application/json")
                    .body(body.to_string());
            }
            let request = GooseRequest::builder()
                .method(m)
                .path(planned.path.as_str())
                .name(action.tag())
                .expect_status_code(action.expected_status())
                .set_request_builder(builder)
                .build();
            match user.request(request).await {
                Ok(GooseResponse {
                    mut request,
                    response,
                }) => {
                    let mut echoed = None;
                    let answer = match response {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            echoed = r
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                            match r.bytes().await {
                                Ok(b) => Answer {
                                    status,
                                    body: b.to_vec(),
                                    error: None,
                                },
                                Err(e) => Answer {
                                    status,
                                    body: Vec::new(),
                                    error: Some(format!("reading the body: {e}")),
                                },
                            }
                        }
                        Err(e) => Answer::none(e.to_string()),
                    };
                    let mut checked = checks::check(planned, answer.status, &answer.body);
                    if answer.status != 0 {
                        checked
                            .results
                            .push(checks::request_id_echoed(request_id, echoed.as_deref()));
                    }
                    // Goose judged the status only; tell it about failed body checks too.
                    if request.success && answer.error.is_none() && !checked.all_passed() {
                        let reason = checked.first_failure().unwrap_or("check failed");
                        let body = String::from_utf8_lossy(&answer.body);
                        let _ = user.set_failure(reason, &mut request, None, Some(&body));
                    }
                    (answer, checked)
                }
                Err(e) => (Answer::none(e.to_string()), Checked::default()),
            }
        }
        Err(e) => (Answer::none(e.to_string()), Checked::default()),
    }
}

pub async fn iteration(ctx: &Context, user: &mut GooseUser) -> TransactionResult {
    let due = match &ctx.schedule {
        Some(schedule) => match schedule.take() {
            Some(due) => {
                ctx.timer.sleep_until(due).await;
                Some(due)
            }
            None => {
                // Everything is handed out: idle until the run ends.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Ok(());
            }
        },
        None => None,
    };
    let (planned, user_id) = plan(ctx, user);
    let request_id = format!(
        "{}-{:08}",
        ctx.run_id,
        ctx.next_request.fetch_add(1, Ordering::Relaxed)
    );
    let action = planned.action;
    let sent = Instant::now();
    let sent_wall = SystemTime::now();
    let (answer, mut checked) = exchange(user, &planned, &request_id, &user_id).await;
    let latency = due.unwrap_or(sent).elapsed();
    if let Some(log) = &ctx.request_log {
        log.write(&RequestLine {
            request_id: request_id.clone(),
            route: action.tag().to_owned(),
            status: answer.status,
            latency_us: latency.as_micros() as u64,
            sent_unix_ms: unix_ms(sent_wall),
            done_unix_ms: unix_ms(SystemTime::now()),
        });
    }
    if answer.status == 0 {
        // No response: the status check fails (and is counted as such).
        checked.results = vec![CheckResult {
            name: checks::status_check(action.expected_status()),
            pass: false,
        }];
    }
    if let (Some(id), Some(state)) = (checked.created_id, user.get_session_data_mut::<UserState>())
    {
        state.created(&planned, id);
    }
    let failure = match (&answer.error, checked.first_failure()) {
        (None, None) => None,
        (err, check) => Some(Failure {
            request_id,
            route: action.tag(),
            path: planned.path.clone(),
            status: answer.status,
            reason: err.clone().or(check.map(str::to_owned)).unwrap_or_default(),
        }),
    };
    ctx.recorder.record(RequestSample {
        action,
        send_lag_us: due.map(|d| sent.saturating_duration_since(d).as_micros() as u64),
        latency_us: latency.as_micros() as u64,
        answered: answer.status != 0,
        checks: &checked,
        failure,
    });
    if let Some(schedule) = &ctx.schedule {
        if schedule.finish() {
            goose::trigger_killswitch("every scheduled iteration has run");
        }
    }
    Ok(())
}
