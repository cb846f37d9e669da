//! Integration tests against a real PostgreSQL (see testkit). One binary, one module per area.

mod ai;
mod helpers;
mod migrations;
mod pooler_safety;
mod queue;
