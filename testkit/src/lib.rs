//! Test support for persona-engine: a real PostgreSQL database per test (cloned from a migrated
//! template, dropped afterwards), row factories, sample data, and HTTP fakes of the services we do not
//! run (Gemini; Supabase Storage).

pub mod db;
pub mod fixtures;
pub mod gemini_fake;
pub mod samples;
pub mod signing;
pub mod storage_fake;

pub use db::TestDb;
pub use gemini_fake::{GeminiFake, Reply};
pub use storage_fake::{StorageFake, StorageReply};
