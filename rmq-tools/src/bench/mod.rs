//! `mqbench` modes and their common report.

pub mod consume;
pub mod driver;
pub mod produce;
pub mod report;
pub mod route;
