//! Integration tests against a real PostgreSQL (see testkit). One binary, one module per area.

mod actions;
mod admin;
mod ai;
mod conversation;
mod helpers;
mod lambda;
mod media;
mod migrations;
mod planner;
mod pooler_safety;
mod queue;
mod selector;
mod worker;
