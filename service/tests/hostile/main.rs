//! Hostile input (issue 15): property tests over every header the service
//! reads and every JSON body, the committed seed corpus, and header and body
//! floods over real TCP. One binary: the app (and its process-wide telemetry)
//! is built once and shared.

mod corpus;
mod flood;
mod props;
mod support;
