//! Workspace layout, run directories, atomic writes and the metrics log (pure, no libtorch).
pub mod atomic;
pub mod metrics;
pub mod workspace;
