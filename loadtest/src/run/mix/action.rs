//! The API's operations, named by their route tag: method and route template, exactly as
//! the service labels its metrics (`http_request_method` + `http_route`).

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Health,
    CreateProject,
    ListProjects,
    GetProject,
    DeleteProject,
    CreateTodo,
    ListTodos,
    GetTodo,
    UpdateTodo,
    DeleteTodo,
}

pub const ALL: [Action; 10] = [
    Action::Health,
    Action::CreateProject,
    Action::ListProjects,
    Action::GetProject,
    Action::DeleteProject,
    Action::CreateTodo,
    Action::ListTodos,
    Action::GetTodo,
    Action::UpdateTodo,
    Action::DeleteTodo,
];

impl Action {
    pub fn method(self) -> &'static str {
        match self {
            Action::CreateProject | Action::CreateTodo => "POST",
            Action::DeleteProject | Action::DeleteTodo => "DELETE",
            Action::UpdateTodo => "PATCH",
            _ => "GET",
        }
    }

    /// The route template, as in the service's router.
    pub fn route(self) -> &'static str {
        match self {
            Action::Health => "/health",
            Action::CreateProject | Action::ListProjects => "/projects",
            Action::GetProject | Action::DeleteProject => "/projects/{id}",
            Action::CreateTodo | Action::ListTodos => "/projects/{project_id}/todos",
            Action::GetTodo | Action::UpdateTodo | Action::DeleteTodo => "/todos/{id}",
        }
    }

    /// The route tag: "GET /projects/{id}".
    pub fn tag(self) -> &'static str {
        match self {
            Action::Health => "GET /health",
            Action::CreateProject => "POST /projects",
            Action::ListProjects => "GET /projects",
            Action::GetProject => "GET /projects/{id}",
            Action::DeleteProject => "DELETE /projects/{id}",
            Action::CreateTodo => "POST /projects/{project_id}/todos",
            Action::ListTodos => "GET /projects/{project_id}/todos",
            Action::GetTodo => "GET /todos/{id}",
            Action::UpdateTodo => "PATCH /todos/{id}",
            Action::DeleteTodo => "DELETE /todos/{id}",
        }
    }

    /// The status a correct answer has.
    pub fn expected_status(self) -> u16 {
        match self {
            Action::CreateProject | Action::CreateTodo => 201,
            Action::DeleteProject | Action::DeleteTodo => 204,
            _ => 200,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Action, String> {
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        ALL.into_iter().find(|a| a.tag() == s).ok_or_else(|| {
            let names: Vec<&str> = ALL.iter().map(|a| a.tag()).collect();
            format!("unknown route {s:?}; the routes are: {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_method_and_route() {
        for a in ALL {
            assert_eq!(a.tag(), format!("{} {}", a.method(), a.route()));
            assert_eq!(a.tag().parse::<Action>(), Ok(a));
        }
        assert!("GET /nope".parse::<Action>().is_err());
    }
}
