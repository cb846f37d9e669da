//! Integration tests against a real PostgreSQL (see testkit). One binary, one module per area.

mod actions;
mod admin;
mod ai;
mod alloc_meter;
mod console;
mod conversation;
mod disclosure;
mod doctor;
mod existing_platform;
mod helpers;
mod kinds;
mod lambda;
mod layers;
mod media;
mod migrations;
mod planner;
mod pooler_safety;
mod queue;
mod secrets;
mod security;
mod selector;
mod sessions;
mod spend;
mod studio;
mod trends;
mod video;
mod worker;

#[global_allocator]
static ALLOCATIONS: alloc_meter::Meter = alloc_meter::Meter;
