//! Evaluation of a model on the validation set (or a subset of it), and the eval-only sweep
//! over a checkpoint (`ablate evaluate RUN_DIR --sweep val_resize_size=224,232,240`).
use super::augment;
use super::batches::eval_batches; // TODO(engine-data): super::data::eval_batches
use super::data::Datasets;
use super::model::ResNet;
use crate::recipe::Recipe;
use crate::store::metrics::Eval;
use anyhow::Result;
use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};

/// Loss (with the recipe's label smoothing, as torchvision's criterion), acc@1 and acc@5 in
/// percent over the selected validation images. One host sync at the end.
pub fn evaluate_model(
    model: &ResNet,
    ds: &Datasets,
    r: &Recipe,
    indices: Option<Vec<usize>>,
    device: Device,
    workers: usize,
) -> Result<Eval> {
    let _g = tch::no_grad_guard();
    let zero = || Tensor::zeros([], (Kind::Float, device));
    let (mut loss_sum, mut c1, mut c5) = (zero(), zero(), zero());
    let mut n = 0usize;
    for b in eval_batches(ds, r, r.batch_size.max(1) as usize, indices, workers)? {
        let b = b?;
        let (x, labels) = augment::to_device(&b, ds.mean, ds.std, device);
        let logits = tch::autocast(r.amp, || model.forward_t(&x, false));
        let loss = augment::loss(&logits, &labels, r.label_smoothing);
        let (a1, a5) = augment::correct_top1_top5(&logits, &labels);
        loss_sum += loss * b.n as f64;
        c1 += a1;
        c5 += a5;
        n += b.n;
    }
    if n == 0 {
        anyhow::bail!("dataset `{}`: the validation selection is empty", ds.name);
    }
    let v = Vec::<f64>::try_from(
        Tensor::stack(&[loss_sum, c1, c5], 0)
            .to_kind(Kind::Double)
            .to_device(Device::Cpu),
    )?;
    Ok(Eval {
        loss: v[0] / n as f64,
        acc1: 100.0 * v[1] / n as f64,
        acc5: 100.0 * v[2] / n as f64,
    })
}

/// The val halves of the inference-resize sweep: "a" = even indices, "b" = odd, "all".
pub fn half_indices(n: usize, half: &str) -> Option<Vec<usize>> {
    match half {
        "a" => Some((0..n).step_by(2).collect()),
        "b" => Some((1..n).step_by(2).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_split_even_and_odd() {
        assert_eq!(half_indices(5, "a"), Some(vec![0, 2, 4]));
        assert_eq!(half_indices(5, "b"), Some(vec![1, 3]));
        assert_eq!(half_indices(5, "all"), None);
    }
}
