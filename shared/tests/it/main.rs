//! Integration tests against a real PostgreSQL (see testkit). One binary, one module per area.

mod actions;
mod ai;
mod helpers;
mod media;
mod migrations;
mod pooler_safety;
mod queue;
mod selector;
