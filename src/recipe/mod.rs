//! Recipes, ingredients, study presets and torchvision command-line interop (pure, no libtorch).
mod params;
mod study;
pub use params::*;
pub use study::*;
