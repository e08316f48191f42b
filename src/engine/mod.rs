//! The training engine on libtorch (tch). Only this module and the `train`/`evaluate`
//! commands touch libtorch.
pub mod data;
pub mod device;
