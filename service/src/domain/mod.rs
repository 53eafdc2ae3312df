//! Domain types: input is parsed into these newtypes at the edge, so handlers
//! and the store only ever see valid values.

mod fields;
mod project;
mod todo;

pub use fields::{BodyObject, Id};
pub use project::{NewProject, Project, ProjectName};
pub use todo::{NewTodo, Todo, TodoPatch, TodoTitle};
