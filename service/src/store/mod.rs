//! Persistence behind a small synchronous trait, so a server database can
//! replace SQLite without touching the handlers. Calls run on the blocking
//! pool, each inside its own database client span (see `telemetry::db_span`).

mod sqlite;

use std::sync::Arc;

use crate::domain::{Id, NewProject, NewTodo, Project, Todo, TodoPatch};
use crate::error::ApiError;
use crate::telemetry::db_span::{DbOp, DbSpan};

pub use sqlite::SqliteStore;

pub type StoreResult<T> = anyhow::Result<T>;

pub trait Store: Send + Sync + 'static {
    /// Name for the `db.system.name` attribute.
    fn system(&self) -> &'static str;
    fn ping(&self) -> StoreResult<()>;
    fn create_project(&self, project: &NewProject, user: Option<&str>) -> StoreResult<Project>;
    fn list_projects(&self) -> StoreResult<Vec<Project>>;
    fn get_project(&self, id: Id) -> StoreResult<Option<Project>>;
    fn delete_project(&self, id: Id) -> StoreResult<bool>;
    /// `None` when the project does not exist.
    fn create_todo(
        &self,
        project: Id,
        todo: &NewTodo,
        user: Option<&str>,
    ) -> StoreResult<Option<Todo>>;
    /// `None` when the project does not exist.
    fn list_todos(&self, project: Id) -> StoreResult<Option<Vec<Todo>>>;
    fn get_todo(&self, id: Id) -> StoreResult<Option<Todo>>;
    fn update_todo(&self, id: Id, patch: &TodoPatch) -> StoreResult<Option<Todo>>;
    fn delete_todo(&self, id: Id) -> StoreResult<bool>;
}

/// The handlers' handle on the store.
#[derive(Clone)]
pub struct Database {
    store: Arc<dyn Store>,
}

impl Database {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Database { store }
    }

    /// Readiness check, untraced (probes would flood the traces).
    pub async fn ping(&self) -> anyhow::Result<()> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.ping()).await?
    }

    /// Runs one store call off the async workers, traced as a client span
    /// named after the operation and table.
    pub async fn call<T, F>(&self, op: DbOp, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        let span = DbSpan::start(self.store.system(), op);
        let store = Arc::clone(&self.store);
        let result = match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
            Ok(result) => result,
            Err(join_error) => Err(anyhow::anyhow!("store call panicked: {join_error}")),
        };
        span.end(result.as_ref().err());
        result.map_err(ApiError::Internal)
    }
}
