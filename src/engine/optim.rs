//! SGD as `torch.optim.SGD` (dampening 0, coupled weight decay, optional Nesterov) with
//! torchvision's per-parameter weight decay groups (recipe-semantics §11). Owned here rather
//! than tch's `nn::Sgd` because that one cannot save its momentum buffers (exact resume).
use super::model::is_norm_param;
use crate::recipe::Recipe;
use anyhow::{Context, Result};
use std::path::Path;
use tch::{nn::VarStore, Kind, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Other,
    Norm,
    Bias,
}

pub struct Param {
    pub name: String,
    pub tensor: Tensor,
    pub group: Group,
    pub weight_decay: f64,
}

pub struct Sgd {
    pub momentum: f64,
    pub nesterov: bool,
    pub params: Vec<Param>,
    bufs: Vec<Option<Tensor>>,
}

/// torchvision's `set_weight_decay`: the custom key `bias` wins (when `bias_weight_decay` is
/// set), then norm layers (when `norm_weight_decay` is set), else `weight_decay`.
/// `fc.bias` stays in "other": this is not the ndim<=1 rule.
pub fn group_of(
    vars: &std::collections::HashMap<String, Tensor>,
    name: &str,
    r: &Recipe,
) -> (Group, f64) {
    let leaf = name.rsplit('.').next().unwrap_or(name);
    match (r.bias_weight_decay, r.norm_weight_decay) {
        (Some(wd), _) if leaf == "bias" => (Group::Bias, wd),
        (_, Some(wd)) if is_norm_param(vars, name) => (Group::Norm, wd),
        _ => (Group::Other, r.weight_decay),
    }
}

impl Sgd {
    pub fn new(vs: &VarStore, r: &Recipe) -> Sgd {
        let vars = vs.variables();
        let mut names: Vec<&String> = vars.keys().filter(|n| vars[*n].requires_grad()).collect();
        names.sort(); // HashMap order is random; a fixed order keeps runs reproducible.
        let params = names
            .into_iter()
            .map(|name| {
                let (group, weight_decay) = group_of(&vars, name, r);
                Param {
                    name: name.clone(),
                    tensor: vars[name].shallow_clone(),
                    group,
                    weight_decay,
                }
            })
            .collect::<Vec<_>>();
        let bufs = params.iter().map(|_| None).collect();
        Sgd {
            momentum: r.momentum,
            nesterov: r.nesterov(),
            params,
            bufs,
        }
    }

    pub fn group_count(&self, g: Group) -> usize {
        self.params.iter().filter(|p| p.group == g).count()
    }

    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.tensor.zero_grad();
        }
    }

    /// Multiplies every gradient by `factor` (loss-scale unscaling, clipping).
    pub fn scale_grads(&self, factor: &Tensor) {
        let _g = tch::no_grad_guard();
        for p in &self.params {
            let mut g = p.tensor.grad();
            if g.defined() {
                let _ = g.g_mul_(factor);
            }
        }
    }

    /// Total L2 norm of all gradients, as a device scalar (no host sync).
    pub fn grad_norm(&self) -> Tensor {
        let _g = tch::no_grad_guard();
        let sq: Vec<Tensor> = self
            .params
            .iter()
            .map(|p| p.tensor.grad())
            .filter(|g| g.defined())
            .map(|g| g.to_kind(Kind::Float).square().sum(Kind::Float))
            .collect();
        Tensor::stack(&sq, 0).sum(Kind::Float).sqrt()
    }

    /// `torch.nn.utils.clip_grad_norm_`: scale by min(1, max / (norm + 1e-6)); returns the norm.
    pub fn clip_grad_norm(&self, max_norm: f64) -> Tensor {
        let norm = self.grad_norm();
        let coef = (max_norm / (&norm + 1e-6)).clamp_max(1.0);
        self.scale_grads(&coef);
        norm
    }

    pub fn step(&mut self, lr: f64) {
        let _g = tch::no_grad_guard();
        for (p, buf) in self.params.iter_mut().zip(self.bufs.iter_mut()) {
            let g = p.tensor.grad();
            if !g.defined() {
                continue;
            }
            let d = if p.weight_decay != 0.0 {
                &g + &p.tensor * p.weight_decay
            } else {
                g
            };
            let d = if self.momentum != 0.0 {
                let b = match buf.take() {
                    None => d.copy(),
                    Some(mut b) => {
                        let _ = b.g_mul_scalar_(self.momentum).g_add_(&d);
                        b
                    }
                };
                let d = if self.nesterov {
                    &d + &b * self.momentum
                } else {
                    b.shallow_clone()
                };
                *buf = Some(b);
                d
            } else {
                d
            };
            let _ = p.tensor.g_sub_(&(d * lr));
        }
    }

    /// Momentum buffers, keyed by parameter name (absent before a parameter's first step).
    pub fn save(&self, path: &Path) -> Result<()> {
        let named: Vec<(&str, &Tensor)> = self
            .params
            .iter()
            .zip(&self.bufs)
            .filter_map(|(p, b)| b.as_ref().map(|b| (p.name.as_str(), b)))
            .collect();
        Tensor::write_safetensors(&named, path)
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn load(&mut self, path: &Path) -> Result<()> {
        let mut map: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(path)
            .with_context(|| format!("reading {}", path.display()))?
            .into_iter()
            .collect();
        for (p, b) in self.params.iter().zip(self.bufs.iter_mut()) {
            *b = map
                .remove(&p.name)
                .map(|t| t.to_device(p.tensor.device()).to_kind(p.tensor.kind()));
        }
        if let Some(extra) = map.keys().next() {
            anyhow::bail!(
                "{}: momentum buffer `{extra}` matches no parameter of the model",
                path.display()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn resnet50_groups_follow_torchvision() {
        let vs = VarStore::new(Device::Cpu);
        let r = Recipe {
            model: "resnet50".into(),
            weight_decay: 2e-5,
            norm_weight_decay: Some(0.0),
            ..Recipe::default()
        };
        super::super::model::build(&vs.root(), &r, 1000).unwrap();
        let sgd = Sgd::new(&vs, &r);
        assert_eq!(sgd.group_count(Group::Other), 55);
        assert_eq!(sgd.group_count(Group::Norm), 106);
        let fc_bias = sgd.params.iter().find(|p| p.name == "fc.bias").unwrap();
        assert_eq!((fc_bias.group, fc_bias.weight_decay), (Group::Other, 2e-5));
        // custom key `bias` wins over the norm rule.
        let r2 = Recipe {
            bias_weight_decay: Some(0.5),
            ..r.clone()
        };
        let sgd2 = Sgd::new(&vs, &r2);
        assert_eq!(sgd2.group_count(Group::Bias), 53 + 1);
        assert_eq!(sgd2.group_count(Group::Norm), 53);
        // No norm_weight_decay: everything is "other" with --wd.
        let sgd3 = Sgd::new(
            &vs,
            &Recipe {
                norm_weight_decay: None,
                ..r
            },
        );
        assert_eq!(sgd3.group_count(Group::Other), 161);
    }

    /// Two steps of torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01), by hand:
    /// p0 = 1, grad = 2 (loss 2p): d = 2 + 0.01 = 2.01, buf = 2.01, p1 = 1 - 0.201 = 0.799;
    /// d = 2 + 0.00799 = 2.00799, buf = 0.9*2.01 + 2.00799 = 3.81699, p2 = 0.799 - 0.381699 = 0.417301.
    /// Nesterov: step1 d = 2.01 + 0.9*2.01 = 3.819 -> p1 = 0.6181.
    #[test]
    fn sgd_steps_match_hand_computed_update() {
        for (nesterov, want) in [(false, [0.799, 0.417301]), (true, [0.6181, f64::NAN])] {
            let vs = VarStore::new(Device::Cpu);
            let p = vs.root().var("w", &[1], tch::nn::Init::Const(1.0));
            let r = Recipe {
                momentum: 0.9,
                weight_decay: 0.01,
                opt: if nesterov {
                    "sgd_nesterov".into()
                } else {
                    "sgd".into()
                },
                ..Recipe::default()
            };
            let mut sgd = Sgd::new(&vs, &r);
            for w in want.iter().filter(|w| !w.is_nan()) {
                sgd.zero_grad();
                (&p * 2.0).sum(Kind::Float).backward();
                sgd.step(0.1);
                assert!(
                    (p.double_value(&[0]) - w).abs() < 1e-6,
                    "nesterov={nesterov}"
                );
            }
        }
    }

    #[test]
    fn momentum_buffers_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let vs = VarStore::new(Device::Cpu);
        let p = vs.root().var("w", &[2], tch::nn::Init::Const(1.0));
        let r = Recipe::default();
        let mut sgd = Sgd::new(&vs, &r);
        (&p * 3.0).sum(Kind::Float).backward();
        sgd.step(0.1);
        let f = dir.path().join("optim.safetensors");
        sgd.save(&f).unwrap();
        let mut sgd2 = Sgd::new(&vs, &r);
        sgd2.load(&f).unwrap();
        let b = sgd2.bufs[0].as_ref().unwrap();
        // buf = grad + wd*p = 3 + 1e-4
        assert!((b.double_value(&[1]) - 3.0001).abs() < 1e-6);
    }
}
