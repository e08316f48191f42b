//! TEMPORARY stand-in for `engine::data::{train_batches, eval_batches, num_train_batches}`
//! (branch engine-data), with the agreed signatures, so the trainer runs on `synthetic` before
//! that branch lands. No augmentation: images are used at their stored size. The integrator
//! deletes this file and points the `use` in train.rs/evaluate.rs at `super::data`.
use super::data::{Batch, Datasets};
use crate::recipe::Recipe;
use anyhow::Result;
use rand::seq::SliceRandom;
use rand::SeedableRng;

pub type BatchIter = Box<dyn Iterator<Item = Result<Batch>> + Send>;

pub fn num_train_batches(n: usize, r: &Recipe) -> usize {
    let b = r.batch_size.max(1) as usize;
    if r.drop_last {
        n / b
    } else {
        n.div_ceil(b)
    }
}

pub fn train_batches(
    ds: &Datasets,
    r: &Recipe,
    seed: u64,
    epoch: i64,
    _workers: usize,
) -> Result<BatchIter> {
    let mut idx: Vec<usize> = (0..ds.train.len()).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(super::augment::mix_seed(&[
        seed,
        epoch as u64,
        0x73687566,
    ]));
    idx.shuffle(&mut rng);
    let nb = num_train_batches(idx.len(), r);
    idx.truncate((nb * r.batch_size as usize).min(idx.len()));
    Ok(batches(ds.train.clone(), idx, r.batch_size as usize))
}

pub fn eval_batches(
    ds: &Datasets,
    _r: &Recipe,
    batch_size: usize,
    indices: Option<Vec<usize>>,
    _workers: usize,
) -> Result<BatchIter> {
    let idx = indices.unwrap_or_else(|| (0..ds.val.len()).collect());
    Ok(batches(ds.val.clone(), idx, batch_size))
}

fn batches(src: std::sync::Arc<dyn super::data::Source>, idx: Vec<usize>, bs: usize) -> BatchIter {
    let chunks: Vec<Vec<usize>> = idx.chunks(bs.max(1)).map(|c| c.to_vec()).collect();
    Box::new(chunks.into_iter().map(move |c| {
        let mut b = Batch {
            pixels: Vec::new(),
            n: c.len(),
            h: 0,
            w: 0,
            labels: Vec::new(),
            erase: vec![None; c.len()],
        };
        for i in c {
            let (img, label) = src.get(i, None)?;
            b.h = img.height;
            b.w = img.width;
            b.pixels.extend_from_slice(&img.data);
            b.labels.push(label);
        }
        Ok(b)
    }))
}
