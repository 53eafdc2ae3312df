//! The embedded SQLite store: one connection in WAL mode behind a mutex
//! (SQLite serialises writers anyway), schema created at start.

use std::path::Path;

use anyhow::Context;
use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{Store, StoreResult};
use crate::domain::{Id, NewProject, NewTodo, Project, Todo, TodoPatch};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS projects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    description TEXT,
    created_by  TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS todos (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    notes       TEXT,
    done        INTEGER NOT NULL DEFAULT 0,
    created_by  TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS todos_project ON todos(project_id);
";

const PROJECT_COLUMNS: &str = "id, name, description, created_by, created_at";
const TODO_COLUMNS: &str = "id, project_id, title, notes, done, created_by, created_at, updated_at";

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening SQLite database {}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )?;
        conn.execute_batch(SCHEMA).context("creating the schema")?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }
}

fn project_row(row: &Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        id: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        created_by: row.get(3)?,
        created_at: row.get(4)?,
    })
}

fn todo_row(row: &Row<'_>) -> rusqlite::Result<Todo> {
    Ok(Todo {
        id: row.get(0)?,
        project_id: row.get(1)?,
        title: row.get(2)?,
        notes: row.get(3)?,
        done: row.get(4)?,
        created_by: row.get(5)?,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
    })
}

fn project_exists(conn: &Connection, id: Id) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM projects WHERE id = ?1")?
        .exists(params![id.0])
}

impl Store for SqliteStore {
    fn system(&self) -> &'static str {
        "sqlite"
    }

    fn ping(&self) -> StoreResult<()> {
        let conn = self.conn.lock();
        conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    fn create_project(&self, project: &NewProject, user: Option<&str>) -> StoreResult<Project> {
        let conn = self.conn.lock();
        let sql = format!(
            "INSERT INTO projects (name, description, created_by) VALUES (?1, ?2, ?3) \
             RETURNING {PROJECT_COLUMNS}"
        );
        let created = conn.prepare_cached(&sql)?.query_row(
            params![project.name.as_str(), project.description, user],
            project_row,
        )?;
        Ok(created)
    }

    fn list_projects(&self) -> StoreResult<Vec<Project>> {
        let conn = self.conn.lock();
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY id LIMIT 1000");
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], project_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn get_project(&self, id: Id) -> StoreResult<Option<Project>> {
        let conn = self.conn.lock();
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = ?1");
        let found = conn
            .prepare_cached(&sql)?
            .query_row(params![id.0], project_row)
            .optional()?;
        Ok(found)
    }

    fn delete_project(&self, id: Id) -> StoreResult<bool> {
        let conn = self.conn.lock();
        let n = conn
            .prepare_cached("DELETE FROM projects WHERE id = ?1")?
            .execute(params![id.0])?;
        Ok(n > 0)
    }

    fn create_todo(
        &self,
        project: Id,
        todo: &NewTodo,
        user: Option<&str>,
    ) -> StoreResult<Option<Todo>> {
        let conn = self.conn.lock();
        if !project_exists(&conn, project)? {
            return Ok(None);
        }
        let sql = format!(
            "INSERT INTO todos (project_id, title, notes, done, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {TODO_COLUMNS}"
        );
        let created = conn.prepare_cached(&sql)?.query_row(
            params![project.0, todo.title.as_str(), todo.notes, todo.done, user],
            todo_row,
        )?;
        Ok(Some(created))
    }

    fn list_todos(&self, project: Id) -> StoreResult<Option<Vec<Todo>>> {
        let conn = self.conn.lock();
        if !project_exists(&conn, project)? {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {TODO_COLUMNS} FROM todos WHERE project_id = ?1 ORDER BY id LIMIT 1000"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![project.0], todo_row)?;
        Ok(Some(rows.collect::<Result<_, _>>()?))
    }

    fn get_todo(&self, id: Id) -> StoreResult<Option<Todo>> {
        let conn = self.conn.lock();
        let sql = format!("SELECT {TODO_COLUMNS} FROM todos WHERE id = ?1");
        let found = conn
            .prepare_cached(&sql)?
            .query_row(params![id.0], todo_row)
            .optional()?;
        Ok(found)
    }

    fn update_todo(&self, id: Id, patch: &TodoPatch) -> StoreResult<Option<Todo>> {
        let conn = self.conn.lock();
        // COALESCE keeps absent fields; the notes flag tells "absent" from "clear".
        let sql = format!(
            "UPDATE todos SET \
               title = COALESCE(?2, title), \
               notes = CASE WHEN ?3 THEN ?4 ELSE notes END, \
               done = COALESCE(?5, done), \
               updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             WHERE id = ?1 RETURNING {TODO_COLUMNS}"
        );
        let notes_given = patch.notes.is_some();
        let notes = patch.notes.clone().flatten();
        let updated = conn
            .prepare_cached(&sql)?
            .query_row(
                params![
                    id.0,
                    patch.title.as_ref().map(|t| t.as_str()),
                    notes_given,
                    notes,
                    patch.done
                ],
                todo_row,
            )
            .optional()?;
        Ok(updated)
    }

    fn delete_todo(&self, id: Id) -> StoreResult<bool> {
        let conn = self.conn.lock();
        let n = conn
            .prepare_cached("DELETE FROM todos WHERE id = ?1")?
            .execute(params![id.0])?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.sqlite")).unwrap();
        (dir, store)
    }

    #[test]
    fn deleting_a_project_deletes_its_todos() {
        let (_dir, store) = store();
        let p = store
            .create_project(
                &NewProject::parse(json!({"name": "p"})).unwrap(),
                Some("u1"),
            )
            .unwrap();
        let t = store
            .create_todo(
                Id(p.id),
                &NewTodo::parse(json!({"title": "t"})).unwrap(),
                None,
            )
            .unwrap()
            .unwrap();
        assert_eq!(p.created_by.as_deref(), Some("u1"));
        assert!(store.delete_project(Id(p.id)).unwrap());
        assert_eq!(store.get_todo(Id(t.id)).unwrap(), None);
    }

    #[test]
    fn patch_keeps_absent_fields() {
        let (_dir, store) = store();
        let p = store
            .create_project(&NewProject::parse(json!({"name": "p"})).unwrap(), None)
            .unwrap();
        let t = store
            .create_todo(
                Id(p.id),
                &NewTodo::parse(json!({"title": "t", "notes": "n"})).unwrap(),
                None,
            )
            .unwrap()
            .unwrap();
        let patched = store
            .update_todo(Id(t.id), &TodoPatch::parse(json!({"done": true})).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(patched.notes.as_deref(), Some("n"));
        assert!(patched.done);
        let cleared = store
            .update_todo(Id(t.id), &TodoPatch::parse(json!({"notes": null})).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(cleared.notes, None);
        assert_eq!(cleared.title, "t");
    }
}
