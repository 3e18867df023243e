//! API stories, in-process against a fresh database: SQLite always, PostgreSQL too when
//! `CASEBRIDGE_TEST_POSTGRES_URL` is set. Every route is tried as anonymous, as another
//! member, with a role too low, and with malformed and oversized bodies.

#[macro_use]
mod support;

mod agreements;
mod audit;
mod auth;
mod cases;
mod conventions;
mod customer;
mod demo;
mod departments;
mod email;
mod encryption;
mod forms;
mod partnerships;
mod privacy;
mod sharing;
mod showcase;
mod sla;
mod users;
mod web;
mod webhooks;
