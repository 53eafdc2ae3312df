//! Operators' log access: the API of `oncall serve` (`api`), its filters
//! (`query`), the point-in-time export (`export`), the audit trail (`audit`),
//! and the client side of `oncall logs` / `oncall audit` (`client`, `render`).

pub mod api;
pub mod audit;
pub mod client;
pub mod export;
pub mod pseudonym;
pub mod query;
pub mod render;
