//! The weighted request mix. Each user owns the projects and todos it created, so the
//! reads, updates and deletes it sends always name something that exists (no user
//! deletes what another is reading). An operation that needs something the user does
//! not have yet becomes the create that makes it.

pub mod action;
pub mod payload;

use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

pub use action::Action;

/// Past these a user deletes instead of creating, so long runs stay bounded.
const MAX_PROJECTS: usize = 20;
const MAX_TODOS: usize = 100;

#[derive(Clone, Debug)]
pub struct Mix {
    actions: Vec<Action>,
    weights: WeightedIndex<u32>,
}

impl Mix {
    pub fn new(entries: &[(Action, u32)]) -> anyhow::Result<Mix> {
        let weights = WeightedIndex::new(entries.iter().map(|(_, w)| *w))
            .map_err(|e| anyhow::anyhow!("mix weights: {e}"))?;
        Ok(Mix {
            actions: entries.iter().map(|(a, _)| *a).collect(),
            weights,
        })
    }

    pub fn pick(&self, rng: &mut impl Rng) -> Action {
        self.actions[self.weights.sample(rng)]
    }
}

/// One request, ready to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub action: Action,
    pub path: String,
    pub body: Option<serde_json::Value>,
    /// The id the response must carry (reads and updates).
    pub expect_id: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct OwnedTodo {
    id: i64,
    project: i64,
}

/// What one user owns and its random state.
#[derive(Clone, Debug)]
pub struct UserState {
    pub user_id: String,
    rng: SmallRng,
    projects: Vec<i64>,
    todos: Vec<OwnedTodo>,
    seq: u64,
}

impl UserState {
    pub fn new(user_id: String, seed: u64) -> UserState {
        UserState {
            user_id,
            rng: SmallRng::seed_from_u64(seed),
            projects: Vec::new(),
            todos: Vec::new(),
            seq: 0,
        }
    }

    /// Picks the next operation and builds its request.
    pub fn plan(&mut self, mix: &Mix) -> Planned {
        let wanted = mix.pick(&mut self.rng);
        let action = self.feasible(wanted);
        self.seq += 1;
        let seq = self.seq;
        match action {
            Action::Health => self.simple(action, "/health".into(), None),
            Action::ListProjects => self.simple(action, "/projects".into(), None),
            Action::CreateProject => {
                let body = payload::project(&mut self.rng, &self.user_id, seq);
                self.simple(action, "/projects".into(), Some(body))
            }
            Action::GetProject => {
                let id = self.any_project();
                self.with_id(action, format!("/projects/{id}"), id, None)
            }
            Action::DeleteProject => {
                let i = self.rng.random_range(0..self.projects.len());
                let id = self.projects.swap_remove(i);
                // The service deletes the project's todos with it.
                self.todos.retain(|t| t.project != id);
                self.simple(action, format!("/projects/{id}"), None)
            }
            Action::CreateTodo => {
                let project = self.any_project();
                let body = payload::todo(&mut self.rng, seq);
                self.with_id(
                    action,
                    format!("/projects/{project}/todos"),
                    project,
                    Some(body),
                )
            }
            Action::ListTodos => {
                let project = self.any_project();
                self.with_id(action, format!("/projects/{project}/todos"), project, None)
            }
            Action::GetTodo => {
                let t = self.any_todo();
                self.with_id(action, format!("/todos/{}", t.id), t.id, None)
            }
            Action::UpdateTodo => {
                let t = self.any_todo();
                let body = payload::todo_patch(&mut self.rng, seq);
                self.with_id(action, format!("/todos/{}", t.id), t.id, Some(body))
            }
            Action::DeleteTodo => {
                let i = self.rng.random_range(0..self.todos.len());
                let t = self.todos.swap_remove(i);
                self.simple(action, format!("/todos/{}", t.id), None)
            }
        }
    }

    /// Remembers what a successful create made.
    pub fn created(&mut self, planned: &Planned, id: i64) {
        match planned.action {
            Action::CreateProject => self.projects.push(id),
            Action::CreateTodo => {
                if let Some(project) = planned.expect_id {
                    self.todos.push(OwnedTodo { id, project });
                }
            }
            _ => {}
        }
    }

    /// The operation that can run now: `wanted`, or the create it depends on.
    fn feasible(&self, wanted: Action) -> Action {
        let needs_project = matches!(
            wanted,
            Action::GetProject | Action::DeleteProject | Action::CreateTodo | Action::ListTodos
        );
        let needs_todo = matches!(
            wanted,
            Action::GetTodo | Action::UpdateTodo | Action::DeleteTodo
        );
        if needs_todo && self.todos.is_empty() {
            return self.feasible(Action::CreateTodo);
        }
        if needs_project && self.projects.is_empty() {
            return Action::CreateProject;
        }
        match wanted {
            Action::CreateProject if self.projects.len() >= MAX_PROJECTS => Action::DeleteProject,
            Action::CreateTodo if self.todos.len() >= MAX_TODOS => Action::DeleteTodo,
            other => other,
        }
    }

    fn any_project(&mut self) -> i64 {
        self.projects[self.rng.random_range(0..self.projects.len())]
    }

    fn any_todo(&mut self) -> OwnedTodo {
        self.todos[self.rng.random_range(0..self.todos.len())]
    }

    fn simple(&self, action: Action, path: String, body: Option<serde_json::Value>) -> Planned {
        Planned {
            action,
            path,
            body,
            expect_id: None,
        }
    }

    fn with_id(
        &self,
        action: Action,
        path: String,
        id: i64,
        body: Option<serde_json::Value>,
    ) -> Planned {
        Planned {
            action,
            path,
            body,
            expect_id: Some(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn requests_only_name_what_the_user_created() {
        let mix = Mix::new(&action::ALL.map(|a| (a, 1))).unwrap();
        let mut user = UserState::new("u".into(), 7);
        let mut next_id = 1;
        let mut live_projects = HashSet::new();
        let mut live_todos = HashSet::new();
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let p = user.plan(&mix);
            seen.insert(p.action);
            let id_in_path = p.path.split('/').find_map(|s| s.parse::<i64>().ok());
            match p.action {
                Action::CreateProject => {
                    live_projects.insert(next_id);
                    user.created(&p, next_id);
                    next_id += 1;
                }
                Action::CreateTodo => {
                    assert!(live_projects.contains(&id_in_path.unwrap()));
                    live_todos.insert((next_id, id_in_path.unwrap()));
                    user.created(&p, next_id);
                    next_id += 1;
                }
                Action::GetProject | Action::ListTodos => {
                    assert!(live_projects.contains(&id_in_path.unwrap()), "{p:?}")
                }
                Action::DeleteProject => {
                    let id = id_in_path.unwrap();
                    assert!(live_projects.remove(&id));
                    live_todos.retain(|(_, project)| *project != id);
                }
                Action::GetTodo | Action::UpdateTodo => {
                    let id = id_in_path.unwrap();
                    assert!(live_todos.iter().any(|(t, _)| *t == id), "{p:?}");
                }
                Action::DeleteTodo => {
                    let id = id_in_path.unwrap();
                    let before = live_todos.len();
                    live_todos.retain(|(t, _)| *t != id);
                    assert_eq!(live_todos.len(), before - 1);
                }
                Action::Health | Action::ListProjects => {}
            }
            assert!(live_projects.len() <= MAX_PROJECTS);
        }
        assert_eq!(seen.len(), action::ALL.len(), "every operation ran");
    }
}
