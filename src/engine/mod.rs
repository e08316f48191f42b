//! The training engine on libtorch (tch). Only this module and the `train`/`evaluate`
//! commands touch libtorch.
pub mod augment;
pub mod batches;
pub mod checkpoint;
pub mod data;
pub mod device;
pub mod ema;
pub mod eval;
pub mod model;
pub mod optim;
pub mod train;
