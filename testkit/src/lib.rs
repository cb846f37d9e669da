//! Test support for persona-engine: a real PostgreSQL database per test (cloned from a migrated
//! template, dropped afterwards), row factories, and HTTP fakes of the services we do not run.

pub mod db;
pub mod fixtures;

pub use db::TestDb;
