//! `mqbench` modes and their common report.

pub mod report;
pub mod route;
