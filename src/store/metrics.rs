//! The append-only metrics log of one run (`metrics.jsonl`): one JSON object per line,
//! written by the engine, read by the store, statistics, export and TUI.
//! Readers tolerate a half-written (or corrupt) line: it is skipped, never fatal.

use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::Path;

pub const METRICS_FORMAT_VERSION: u32 = 1;

/// Validation metrics of one model (raw or EMA) on the whole validation set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Eval {
    pub loss: f64,
    /// Percent, 0..100, like torchvision's logs.
    pub acc1: f64,
    pub acc5: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MetricEvent {
    /// Written when a process starts (or resumes) the run.
    Start {
        version: u32,
        /// Unix time, seconds.
        time: f64,
        seed: u64,
        device: String,
        /// First epoch this process trains (0 unless resumed).
        start_epoch: i64,
        epochs: i64,
        iters_per_epoch: i64,
        train_images: i64,
        val_images: i64,
    },
    /// Every N iterations. `loss` is the mean over those iterations.
    Step {
        epoch: i64,
        iter: i64,
        global_step: i64,
        loss: f64,
        lr: f64,
        images_per_sec: f64,
    },
    /// End of an epoch (0-based), after evaluation.
    Epoch {
        epoch: i64,
        lr: f64,
        train_loss: f64,
        train_acc1: f64,
        train_acc5: f64,
        val: Eval,
        ema: Option<Eval>,
        epoch_time_s: f64,
        images_per_sec: f64,
    },
    /// One point of an eval-only sweep (e.g. val_resize_size), on one half of the val set.
    Sweep {
        param: String,
        value: f64,
        half: String,
        model: String,
        eval: Eval,
    },
    /// NaN or infinite loss: the run stops.
    Diverged {
        epoch: i64,
        global_step: i64,
        /// serde_json writes a NaN/inf loss as `null`; it reads back as NaN.
        #[serde(deserialize_with = "nan_if_null")]
        loss: f64,
    },
    /// The run finished all its epochs.
    Done { time: f64 },
}

fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Appends events, one flushed line each (a crash loses at most the line being written).
pub struct MetricsWriter {
    file: std::fs::File,
}

impl MetricsWriter {
    pub fn append(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self { file })
    }
    pub fn write(&mut self, ev: &MetricEvent) -> std::io::Result<()> {
        let mut line = serde_json::to_string(ev).map_err(std::io::Error::other)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.flush()
    }
}

/// Reads every well-formed event; skips a truncated last line or any corrupt line.
/// A missing file is an empty log.
pub fn read_events(path: &Path) -> std::io::Result<Vec<MetricEvent>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line?;
        if let Ok(ev) = serde_json::from_slice::<MetricEvent>(&line) {
            out.push(ev);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_corrupt_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.jsonl");
        let mut w = MetricsWriter::append(&p).unwrap();
        w.write(&MetricEvent::Done { time: 1.0 }).unwrap();
        drop(w);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"garbage\n{\"kind\":\"done\",\"ti").unwrap();
        let evs = read_events(&p).unwrap();
        assert_eq!(evs, vec![MetricEvent::Done { time: 1.0 }]);
    }

    #[test]
    fn nan_loss_of_a_diverged_run_round_trips() {
        let ev = MetricEvent::Diverged {
            epoch: 2,
            global_step: 70,
            loss: f64::NAN,
        };
        let line = serde_json::to_string(&ev).unwrap();
        assert!(line.contains(r#""loss":null"#), "{line}");
        match serde_json::from_str(&line).unwrap() {
            MetricEvent::Diverged {
                global_step, loss, ..
            } => {
                assert_eq!(global_step, 70);
                assert!(loss.is_nan());
            }
            other => panic!("{other:?}"),
        }
    }
}
