//! Recipes, ingredients, study presets and torchvision command-line interop (pure, no libtorch).
pub mod ema;
mod load;
mod params;
pub mod presets;
mod resolve;
pub mod schedule;
mod study;
pub mod torchvision;
pub use load::EVAL_PARAMS;
pub use params::*;
pub use resolve::*;
pub use study::*;
