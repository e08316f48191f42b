//! torchvision's ResNet family (recipe-semantics §14): v1.5 bottleneck (stride on the 3x3),
//! downsample when the stride or the channel count changes, torchvision's initialisation and
//! parameter names, so `model.safetensors` loads into torchvision with
//! `load_state_dict(strict=False)` (only `num_batches_tracked` is absent: tch keeps no such
//! buffer, and torchvision only uses it when BN momentum is None).
//!
//! ablate extensions: `stem = "small"` (3x3 stride-1 conv, no max-pool, for 28-32 px images)
//! and `base_width` (channels of the first stage; torchvision is 64).
use crate::recipe::{Recipe, Stem};
use anyhow::{bail, Result};
use tch::nn::init::{FanInOut, NonLinearity, NormalOrUniform};
use tch::nn::{self, Init, ModuleT};
use tch::Tensor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Basic,
    Bottleneck,
}

/// The architecture behind a torchvision model name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arch {
    pub block: BlockKind,
    pub layers: [usize; 4],
    pub groups: i64,
    pub width_per_group: i64,
}

/// The architectures this builder knows: the recipe core owns the list (validation).
pub use crate::recipe::MODELS;

pub fn arch(name: &str) -> Result<Arch> {
    use BlockKind::*;
    let a = |block, layers, groups, width_per_group| Arch {
        block,
        layers,
        groups,
        width_per_group,
    };
    Ok(match name {
        "resnet18" => a(Basic, [2, 2, 2, 2], 1, 64),
        "resnet34" => a(Basic, [3, 4, 6, 3], 1, 64),
        "resnet50" => a(Bottleneck, [3, 4, 6, 3], 1, 64),
        "resnet101" => a(Bottleneck, [3, 4, 23, 3], 1, 64),
        "resnet152" => a(Bottleneck, [3, 8, 36, 3], 1, 64),
        "resnext50_32x4d" => a(Bottleneck, [3, 4, 6, 3], 32, 4),
        "resnext101_32x8d" => a(Bottleneck, [3, 4, 23, 3], 32, 8),
        "wide_resnet50_2" => a(Bottleneck, [3, 4, 6, 3], 1, 128),
        other => bail!("model `{other}`: allowed values are {}", MODELS.join(", ")),
    })
}

fn conv(p: nn::Path, i: i64, o: i64, k: i64, stride: i64, groups: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding: k / 2,
        groups,
        bias: false,
        // torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu")
        ws_init: Init::Kaiming {
            dist: NormalOrUniform::Normal,
            fan: FanInOut::FanOut,
            non_linearity: NonLinearity::ReLU,
        },
        ..Default::default()
    };
    nn::conv2d(p, i, o, k, cfg)
}

/// torchvision: weight 1, bias 0 (tch's default weight is U[0,1)); zero_init for the last BN.
fn bn(p: nn::Path, c: i64, zero: bool) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        ws_init: Init::Const(if zero { 0.0 } else { 1.0 }),
        bs_init: Init::Const(0.0),
        ..Default::default()
    };
    nn::batch_norm2d(p, c, cfg)
}

#[derive(Debug)]
struct Block {
    convs: Vec<(nn::Conv2D, nn::BatchNorm)>,
    downsample: Option<(nn::Conv2D, nn::BatchNorm)>,
}

impl Block {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let last = self.convs.len() - 1;
        let mut y = x.shallow_clone();
        for (k, (c, b)) in self.convs.iter().enumerate() {
            y = y.apply(c).apply_t(b, train);
            if k != last {
                y = y.relu();
            }
        }
        let short = match &self.downsample {
            Some((c, b)) => x.apply(c).apply_t(b, train),
            None => x.shallow_clone(),
        };
        (y + short).relu()
    }
}

#[derive(Debug)]
pub struct ResNet {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    max_pool: bool,
    blocks: Vec<Block>,
    fc: nn::Linear,
}

/// Builds the recipe's model under `p` (use a fresh VarStore per model: tch renames duplicates).
pub fn build(p: &nn::Path, r: &Recipe, num_classes: i64) -> Result<ResNet> {
    let a = arch(&r.model)?;
    if r.base_width < 1 {
        bail!(
            "base_width = {}: must be a positive channel count (torchvision: 64)",
            r.base_width
        );
    }
    let bw = r.base_width;
    let (conv1, max_pool) = match r.stem {
        Stem::Imagenet => (conv(p / "conv1", 3, bw, 7, 2, 1), true),
        Stem::Small => (conv(p / "conv1", 3, bw, 3, 1, 1), false),
    };
    let bn1 = bn(p / "bn1", bw, false);
    let expansion = match a.block {
        BlockKind::Basic => 1,
        BlockKind::Bottleneck => 4,
    };
    let mut inplanes = bw;
    let mut blocks = Vec::new();
    for (li, &n) in a.layers.iter().enumerate() {
        let planes = bw << li;
        let stride = if li == 0 { 1 } else { 2 };
        let lp = p / format!("layer{}", li + 1);
        for bi in 0..n {
            let bp = &lp / bi;
            let s = if bi == 0 { stride } else { 1 };
            let out = planes * expansion;
            let downsample = (s != 1 || inplanes != out).then(|| {
                let dp = &bp / "downsample";
                (
                    conv(&dp / 0, inplanes, out, 1, s, 1),
                    bn(&dp / 1, out, false),
                )
            });
            let z = r.zero_init_residual;
            let convs = match a.block {
                BlockKind::Basic => vec![
                    (
                        conv(&bp / "conv1", inplanes, planes, 3, s, 1),
                        bn(&bp / "bn1", planes, false),
                    ),
                    (
                        conv(&bp / "conv2", planes, planes, 3, 1, 1),
                        bn(&bp / "bn2", planes, z),
                    ),
                ],
                BlockKind::Bottleneck => {
                    // torchvision: width = int(planes * (base_width / 64.)) * groups, where its
                    // base_width is width_per_group (64 for plain ResNets).
                    let width = planes * a.width_per_group / 64 * a.groups;
                    vec![
                        (
                            conv(&bp / "conv1", inplanes, width, 1, 1, 1),
                            bn(&bp / "bn1", width, false),
                        ),
                        (
                            conv(&bp / "conv2", width, width, 3, s, a.groups),
                            bn(&bp / "bn2", width, false),
                        ),
                        (
                            conv(&bp / "conv3", width, out, 1, 1, 1),
                            bn(&bp / "bn3", out, z),
                        ),
                    ]
                }
            };
            blocks.push(Block { convs, downsample });
            inplanes = out;
        }
    }
    // PyTorch's Linear default: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    let bound = 1.0 / (inplanes as f64).sqrt();
    let fc_cfg = nn::LinearConfig {
        ws_init: Init::Uniform {
            lo: -bound,
            up: bound,
        },
        bs_init: Some(Init::Uniform {
            lo: -bound,
            up: bound,
        }),
        bias: true,
    };
    let fc = nn::linear(p / "fc", inplanes, num_classes, fc_cfg);
    Ok(ResNet {
        conv1,
        bn1,
        max_pool,
        blocks,
        fc,
    })
}

impl ModuleT for ResNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut y = x.apply(&self.conv1).apply_t(&self.bn1, train).relu();
        if self.max_pool {
            y = y.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        }
        for b in &self.blocks {
            y = b.forward_t(&y, train);
        }
        y.adaptive_avg_pool2d([1, 1]).flatten(1, -1).apply(&self.fc)
    }
}

/// Forward pass, under fp16 autocast only when `amp` (and CUDA: tch's autocast is a no-op on
/// CPU). Never calls tch::autocast otherwise: each call hits deprecated libtorch wrappers
/// that print a warning to stderr (tch-notes §5).
pub fn forward(model: &ResNet, x: &Tensor, train: bool, amp: bool) -> Tensor {
    if amp && x.device().is_cuda() {
        tch::autocast(true, || model.forward_t(x, train))
    } else {
        model.forward_t(x, train)
    }
}

/// True when `name` is the weight or bias of a norm layer: in a VarStore a BatchNorm is the
/// only module with a `running_mean` sibling (torchvision groups by module type, §11).
pub fn is_norm_param(vars: &std::collections::HashMap<String, Tensor>, name: &str) -> bool {
    match name.rsplit_once('.') {
        Some((module, "weight" | "bias")) => vars.contains_key(&format!("{module}.running_mean")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn::VarStore, Device, Kind};

    fn store(model: &str, f: impl FnOnce(&mut Recipe)) -> VarStore {
        let vs = VarStore::new(Device::Cpu);
        let mut r = Recipe {
            model: model.into(),
            ..Recipe::default()
        };
        f(&mut r);
        build(&vs.root(), &r, 1000).unwrap();
        vs
    }

    fn trainable_count(vs: &VarStore) -> i64 {
        vs.trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum()
    }

    // Expected counts: torchvision `sum(p.numel() for p in m.parameters())` (recipe-semantics §14).
    #[test]
    fn parameter_counts_match_torchvision() {
        tch::manual_seed(0);
        assert_eq!(trainable_count(&store("resnet50", |_| ())), 25_557_032);
        assert_eq!(
            trainable_count(&store("resnext50_32x4d", |_| ())),
            25_028_904
        );
        assert_eq!(
            trainable_count(&store("wide_resnet50_2", |_| ())),
            68_883_240
        );
        // torchvision resnet18: 11,689,512 parameters.
        assert_eq!(trainable_count(&store("resnet18", |_| ())), 11_689_512);
        // The models of BENCHMARKS.md's end-to-end rows, 10 classes; the counts printed by
        // scripts/bench_torchvision_train.py (torchvision's ResNet with the same stem/width).
        let ten = |f: fn(&mut Recipe)| {
            let vs = VarStore::new(Device::Cpu);
            let mut r = Recipe {
                model: "resnet18".into(),
                ..Recipe::default()
            };
            f(&mut r);
            build(&vs.root(), &r, 10).unwrap();
            trainable_count(&vs)
        };
        assert_eq!(ten(|_| ()), 11_181_642);
        assert_eq!(
            ten(|r| {
                r.stem = Stem::Small;
                r.base_width = 8;
            }),
            176_402
        );
    }

    #[test]
    fn names_and_init_follow_torchvision() {
        tch::manual_seed(1);
        let vs = store("resnet50", |_| ());
        let vars = vs.variables();
        // 161 parameters + 106 BN running buffers (torchvision's 320 keys less 53 num_batches_tracked).
        assert_eq!(vars.len(), 161 + 106);
        for k in [
            "conv1.weight",
            "bn1.running_mean",
            "bn1.running_var",
            "layer1.0.conv1.weight",
            "layer1.0.downsample.0.weight",
            "layer1.0.downsample.1.bias",
            "layer4.2.bn3.weight",
            "fc.weight",
            "fc.bias",
        ] {
            assert!(vars.contains_key(k), "missing {k}");
        }
        assert!(!vars.contains_key("layer1.1.downsample.0.weight"));
        let mut bn_weights = 0;
        for (name, t) in &vars {
            if is_norm_param(&vars, name) && name.ends_with(".weight") {
                bn_weights += 1;
                assert_eq!(t.min().double_value(&[]), 1.0, "{name}");
                assert_eq!(t.max().double_value(&[]), 1.0, "{name}");
            }
        }
        assert_eq!(bn_weights, 53);
        // kaiming normal fan_out: std = sqrt(2 / (out * k * k)); layer4.0.conv2 has 512*9 = 4608
        // fan_out and 2.36M entries, so the sample std is within 0.5 % of 0.020833.
        let w = &vars["layer4.0.conv2.weight"];
        let std = w.std(true).double_value(&[]);
        let want = (2.0f64 / (512.0 * 9.0)).sqrt();
        assert!((std / want - 1.0).abs() < 0.005, "std {std} want {want}");
        assert!(w.mean(Kind::Float).double_value(&[]).abs() < 1e-3);
        // fc: U(+-1/sqrt(2048)) = +-0.0221 for weight and bias.
        let b = 1.0 / 2048f64.sqrt();
        for k in ["fc.weight", "fc.bias"] {
            let t = &vars[k];
            assert!(t.max().double_value(&[]) <= b && t.min().double_value(&[]) >= -b);
            assert!(
                t.max().double_value(&[]) > 0.9 * b,
                "{k} not spread over the bound"
            );
        }
    }

    #[test]
    fn small_stem_narrow_forward_shapes() {
        tch::manual_seed(2);
        let vs = VarStore::new(Device::Cpu);
        let r = Recipe {
            model: "resnet18".into(),
            stem: Stem::Small,
            base_width: 8,
            zero_init_residual: true,
            ..Recipe::default()
        };
        let m = build(&vs.root(), &r, 10).unwrap();
        let vars = vs.variables();
        assert_eq!(vars["conv1.weight"].size(), vec![8, 3, 3, 3]);
        assert_eq!(vars["fc.weight"].size(), vec![10, 64]);
        assert_eq!(
            vars["layer2.0.bn2.weight"]
                .abs()
                .sum(Kind::Float)
                .double_value(&[]),
            0.0
        );
        let y = m.forward_t(
            &Tensor::zeros([2, 3, 28, 28], (Kind::Float, Device::Cpu)),
            false,
        );
        assert_eq!(y.size(), vec![2, 10]);
        assert!(arch("resnet9")
            .unwrap_err()
            .to_string()
            .contains("resnet50"));
    }
}
