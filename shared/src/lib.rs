//! persona-engine: AI personas that post, comment, reply and vote like people on a Reddit-like platform.
//!
//! The Lambda functions, the local runner and the tests all call into this crate; docs/ARCHITECTURE.md
//! shows how the modules fit together and the path of a task.

pub mod admin;
pub mod ai;
pub mod audit;
pub mod clock;
pub mod config;
pub mod context;
pub mod db;
pub mod disclosure;
pub mod doctor;
pub mod engine;
pub mod kinds;
pub mod lambda;
pub mod media;
pub mod metrics;
pub mod moderation;
pub mod operator;
pub mod persona;
pub mod planner;
pub mod prices;
pub mod prompt;
pub mod queue;
pub mod routing;
pub mod runner;
pub mod secrets;
pub mod signing;
pub mod spend;
pub mod stable;
pub mod studio;
pub mod style;
pub mod telemetry;
pub mod trends;
pub mod voice;
pub mod worker;
