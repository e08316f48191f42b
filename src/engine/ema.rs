//! The EMA model (recipe-semantics §4): torchvision's `ExponentialMovingAverage`
//! (`AveragedModel` with `use_buffers=True`), so BN running statistics are averaged too.
use super::model::{self, ResNet};
use crate::recipe::Recipe;
use anyhow::Result;
use tch::nn::VarStore;
use tch::{Device, Tensor};

pub struct Ema {
    pub vs: VarStore,
    pub model: ResNet,
    /// (ema, live) shallow clones over every parameter and buffer, in name order.
    pairs: Vec<(Tensor, Tensor)>,
    pub decay: f64,
    /// AveragedModel's `n_averaged`: 0 means the next update is a copy.
    pub n_averaged: u64,
}

impl Ema {
    /// A second model on its own VarStore, starting as a copy of `live`.
    pub fn new(
        live: &VarStore,
        r: &Recipe,
        num_classes: i64,
        decay: f64,
        device: Device,
    ) -> Result<Ema> {
        let mut vs = VarStore::new(device);
        let model = model::build(&vs.root(), r, num_classes)?;
        vs.copy(live)?;
        let mut ema = Ema {
            vs,
            model,
            pairs: Vec::new(),
            decay,
            n_averaged: 0,
        };
        ema.pair_with(live);
        Ok(ema)
    }

    /// Caches the (ema, live) pairs; call again after loading either store.
    pub fn pair_with(&mut self, live: &VarStore) {
        let (e, l) = (self.vs.variables(), live.variables());
        let mut names: Vec<&String> = e.keys().collect();
        names.sort();
        self.pairs = names
            .into_iter()
            .map(|n| (e[n].shallow_clone(), l[n].shallow_clone()))
            .collect();
    }

    /// One AveragedModel update: copy when n_averaged == 0, else ema = d*ema + (1-d)*live.
    /// During LR warmup epochs torchvision resets n_averaged to 0 after each update.
    pub fn update(&mut self, in_warmup: bool) {
        let _g = tch::no_grad_guard();
        let copy = self.n_averaged == 0;
        for (ema, live) in self.pairs.iter_mut() {
            if copy || !ema.is_floating_point() {
                ema.copy_(live);
            } else {
                let _ = ema.lerp_(live, 1.0 - self.decay);
            }
        }
        self.n_averaged = if in_warmup { 0 } else { self.n_averaged + 1 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn::ModuleT, Kind};

    #[test]
    fn ema_blends_parameters_and_bn_buffers_with_the_effective_decay() {
        tch::manual_seed(3);
        let r = Recipe {
            model: "resnet18".into(),
            stem: crate::recipe::Stem::Small,
            base_width: 4,
            ..Recipe::default()
        };
        let live = VarStore::new(Device::Cpu);
        let m = model::build(&live.root(), &r, 3).unwrap();
        let mut ema = Ema::new(&live, &r, 3, 0.75, Device::Cpu).unwrap();
        let get = |vs: &VarStore, k: &str| vs.variables()[k].copy();
        // a train-mode forward moves the live BN running stats: mean 0 -> 0.1 * batch mean.
        let x = Tensor::ones([2, 3, 8, 8], (Kind::Float, Device::Cpu));
        let _ = m.forward_t(&x, true);
        let live_rm = get(&live, "bn1.running_mean");
        assert!(live_rm.abs().sum(Kind::Float).double_value(&[]) > 0.0);
        // first update copies (n_averaged == 0)
        ema.update(false);
        assert!(get(&ema.vs, "bn1.running_mean").equal(&live_rm));
        // move the live weights, then blend: ema = 0.75*old + 0.25*new
        let w_old = get(&live, "conv1.weight");
        tch::no_grad(|| {
            let mut w = live.variables()["conv1.weight"].shallow_clone();
            let _ = w.g_add_scalar_(1.0);
        });
        let _ = m.forward_t(&x, true);
        let live_rm2 = get(&live, "bn1.running_mean");
        ema.update(false);
        let want_w = &w_old + 0.25;
        assert!(
            (get(&ema.vs, "conv1.weight") - want_w)
                .abs()
                .max()
                .double_value(&[])
                < 1e-6
        );
        let want_rm = &live_rm * 0.75 + &live_rm2 * 0.25;
        assert!(
            (get(&ema.vs, "bn1.running_mean") - want_rm)
                .abs()
                .max()
                .double_value(&[])
                < 1e-6
        );
        assert_eq!(ema.n_averaged, 2);
        // in warmup every update is a copy
        ema.update(true);
        ema.update(true);
        assert!(get(&ema.vs, "conv1.weight").equal(&get(&live, "conv1.weight")));
        assert_eq!(ema.n_averaged, 0);
    }
}
