//! The tooling around the engine: the simulator, the demo world and its seeding, the display metrics the
//! demo and the simulator print, and a private throwaway PostgreSQL for development and tests. The CLI,
//! the tests and the benchmarks use it; the three Lambda functions never link it.

pub mod demo_world;
pub mod display;
pub mod local_postgres;
pub mod seed;
pub mod simulation;
