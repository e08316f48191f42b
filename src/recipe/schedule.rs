//! The learning rate in force during each epoch, in closed form (recipe-semantics §3).
//! CONTRACT: the engine calls `lr_at_epoch` once per epoch; torchvision steps its scheduler
//! once per epoch, so the LR is constant within an epoch.
use super::{LrScheduler, Recipe, WarmupMethod};

/// LR used during 0-based epoch `epoch`, as torchvision's
/// `SequentialLR([warmup, main], milestones=[W])` gives it: the main scheduler restarts at its
/// own epoch 0 at the milestone, so it sees `epoch - W`.
pub fn lr_at_epoch(r: &Recipe, epoch: i64) -> f64 {
    let eta = r.lr;
    let w = r.lr_warmup_epochs.max(0);
    if epoch < w {
        let s = r.lr_warmup_decay;
        return match r.lr_warmup_method {
            WarmupMethod::Linear => eta * (s + (1.0 - s) * epoch as f64 / w as f64),
            WarmupMethod::Constant => eta * s,
        };
    }
    let e = (epoch - w) as f64;
    match r.lr_scheduler {
        LrScheduler::Steplr => {
            eta * r
                .lr_gamma
                .powi(((epoch - w) / r.lr_step_size.max(1)) as i32)
        }
        LrScheduler::Exponentiallr => eta * r.lr_gamma.powf(e),
        LrScheduler::Cosineannealinglr => {
            // T_max = E - W; validation rejects T_max = 0 (torchvision divides by it).
            let t_max = (r.epochs - w).max(1) as f64;
            r.lr_min + (eta - r.lr_min) * (1.0 + (std::f64::consts::PI * e / t_max).cos()) / 2.0
        }
    }
}

/// The whole schedule, one LR per epoch.
pub fn lr_table(r: &Recipe) -> Vec<f64> {
    (0..r.epochs).map(|e| lr_at_epoch(r, e)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1() -> Recipe {
        Recipe {
            lr: 0.1,
            epochs: 90,
            ..Recipe::default()
        }
    }
    /// The "+ LR optimizations" row: lr 0.5, cosine, 5 linear warmup epochs, decay 0.01.
    fn lr_opt(epochs: i64) -> Recipe {
        Recipe {
            lr: 0.5,
            epochs,
            lr_scheduler: LrScheduler::Cosineannealinglr,
            lr_warmup_epochs: 5,
            lr_warmup_method: WarmupMethod::Linear,
            lr_warmup_decay: 0.01,
            ..Recipe::default()
        }
    }
    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    // Expected values: recipe-semantics.md §3 (checked there against PyTorch 2.13's
    // SequentialLR(LinearLR, CosineAnnealingLR) stepped once per epoch).
    #[test]
    fn v2_recipe_table() {
        let t = lr_table(&lr_opt(600));
        assert_eq!(t.len(), 600);
        let expect = [0.005, 0.104, 0.203, 0.302, 0.401, 0.5, 0.4999965];
        for (e, want) in expect.iter().enumerate() {
            assert!(close(t[e], *want, 1e-6), "epoch {e}: {} vs {want}", t[e]);
        }
        assert!(close(t[599], 3.4848e-6, 1e-4), "{}", t[599]);
    }

    #[test]
    fn v1_step_table() {
        let t = lr_table(&v1());
        assert!(t[..30].iter().all(|&x| close(x, 0.1, 1e-12)));
        assert!(t[30..60].iter().all(|&x| close(x, 0.01, 1e-12)));
        assert!(t[60..].iter().all(|&x| close(x, 0.001, 1e-12)));
        assert!(close(t[89], 0.001, 1e-12));
    }

    #[test]
    fn lr_opt_row_at_90_epochs() {
        let r = lr_opt(90);
        assert!(close(lr_at_epoch(&r, 6), 0.499829, 1e-5));
        assert!(close(lr_at_epoch(&r, 89), 1.707e-4, 1e-3));
    }

    #[test]
    fn constant_warmup_is_flat_then_jumps() {
        // torchvision's default warmup method: ConstantLR(factor=s) for W epochs.
        let r = Recipe {
            lr_warmup_method: WarmupMethod::Constant,
            ..lr_opt(10)
        };
        assert!(close(lr_at_epoch(&r, 0), 0.005, 1e-12));
        assert!(close(lr_at_epoch(&r, 4), 0.005, 1e-12));
        assert!(close(lr_at_epoch(&r, 5), 0.5, 1e-12));
    }

    #[test]
    fn exponential_and_step_restart_after_warmup() {
        let r = Recipe {
            lr: 1.0,
            lr_gamma: 0.5,
            lr_warmup_epochs: 2,
            lr_warmup_method: WarmupMethod::Linear,
            lr_scheduler: LrScheduler::Exponentiallr,
            epochs: 6,
            ..Recipe::default()
        };
        // 0.01, 0.505, then 1, 0.5, 0.25, 0.125 (gamma^(e - W)).
        let t = lr_table(&r);
        let want = [0.01, 0.505, 1.0, 0.5, 0.25, 0.125];
        for (a, b) in t.iter().zip(want) {
            assert!(close(*a, b, 1e-12), "{t:?}");
        }
        let s = Recipe {
            lr_scheduler: LrScheduler::Steplr,
            lr_step_size: 2,
            ..r
        };
        let t = lr_table(&s);
        let want = [0.01, 0.505, 1.0, 1.0, 0.5, 0.5];
        for (a, b) in t.iter().zip(want) {
            assert!(close(*a, b, 1e-12), "{t:?}");
        }
    }
}
