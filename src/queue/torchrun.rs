//! The torchrun hand-off: one study row trained by torchvision's own reference script
//! (`references/classification/train.py`, the user's PyTorch), its log parsed into the run's
//! `metrics.jsonl` so that the row shows in `status`, `table` and `export` like ablate's runs.
//!
//! [`LogParser`] is the pure part: it reads train.py's MetricLogger lines
//! (`Epoch: [3]  [ 10/500] ... lr: 0.5 ... loss: 6.91 (6.93)  acc1: ...`, `Test:  ...`,
//! `Test: EMA ...`, ` * Acc@1 76.130 Acc@5 92.862`) and emits one `MetricEvent::Epoch` per
//! finished epoch (after the EMA evaluation when the recipe has an EMA).
use crate::store::metrics::{Eval, MetricEvent};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Section {
    None,
    Train,
    Val,
    Ema,
}

/// Turns train.py's stdout into epoch events, line by line.
#[derive(Debug, Clone)]
pub struct LogParser {
    ema: bool,
    section: Section,
    epoch: i64,
    lr: f64,
    train: (f64, f64, f64),
    img_s: Vec<f64>,
    epoch_time_s: f64,
    /// Last running-average loss of the current eval section.
    eval_loss: f64,
    val: Option<Eval>,
}

/// `key: median (global_avg)` or `key: value` from a MetricLogger line; the global average
/// when there is one.
fn field(line: &str, key: &str) -> Option<f64> {
    let at = line.find(&format!("{key}: "))? + key.len() + 2;
    let rest = &line[at..];
    let first = rest.split_whitespace().next()?;
    match rest[first.len()..].trim_start().strip_prefix('(') {
        Some(avg) => avg.split(')').next()?.trim().parse().ok(),
        None => first.parse().ok(),
    }
}

/// `H:MM:SS` -> seconds.
fn hms(s: &str) -> Option<f64> {
    let parts: Vec<f64> = s
        .trim()
        .split(':')
        .map(|p| p.parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()?;
    Some(parts.iter().fold(0.0, |acc, p| acc * 60.0 + p))
}

impl LogParser {
    /// `ema`: the recipe trains an EMA model (train.py then evaluates twice per epoch).
    pub fn new(ema: bool) -> Self {
        LogParser {
            ema,
            section: Section::None,
            epoch: -1,
            lr: f64::NAN,
            train: (f64::NAN, f64::NAN, f64::NAN),
            img_s: Vec::new(),
            epoch_time_s: f64::NAN,
            eval_loss: f64::NAN,
            val: None,
        }
    }

    pub fn feed(&mut self, line: &str) -> Option<MetricEvent> {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("Epoch: [") {
            let (n, after) = rest.split_once(']')?;
            let n: i64 = n.trim().parse().ok()?;
            if self.section != Section::Train || self.epoch != n {
                self.epoch = n;
                self.img_s.clear();
                self.val = None;
            }
            self.section = Section::Train;
            if let Some(tt) = after.trim().strip_prefix("Total time:") {
                self.epoch_time_s = hms(tt).unwrap_or(f64::NAN);
                return None;
            }
            if let Some(lr) = field(after, "lr") {
                self.lr = lr;
            }
            if let (Some(l), Some(a1), Some(a5)) = (
                field(after, "loss"),
                field(after, "acc1"),
                field(after, "acc5"),
            ) {
                self.train = (l, a1, a5);
            }
            if let Some(v) = field(after, "img/s") {
                self.img_s.push(v);
            }
        } else if let Some(rest) = t.strip_prefix("Test:") {
            let after = rest.trim_start();
            let ema = after.starts_with("EMA");
            let section = if ema { Section::Ema } else { Section::Val };
            if self.section != section {
                self.eval_loss = f64::NAN;
            }
            self.section = section;
            // torchvision >= 0.15 prints the summary as `Test: EMA Acc@1 ...`.
            let body = after.strip_prefix("EMA").unwrap_or(after).trim_start();
            if let Some(acc) = body.strip_prefix("Acc@1") {
                return self.summary(acc);
            }
            if let Some(l) = field(rest, "loss") {
                self.eval_loss = l;
            }
        } else if let Some(acc) = t.strip_prefix("* Acc@1") {
            return self.summary(acc);
        }
        None
    }

    /// `<acc1> Acc@5 <acc5>` ends an evaluation; the epoch ends with the last one.
    fn summary(&mut self, rest: &str) -> Option<MetricEvent> {
        let mut w = rest.split_whitespace();
        let acc1: f64 = w.next()?.parse().ok()?;
        let acc5: f64 = match (w.next(), w.next()) {
            (Some("Acc@5"), Some(v)) => v.parse().ok()?,
            _ => return None,
        };
        let eval = Eval {
            loss: self.eval_loss,
            acc1,
            acc5,
        };
        match self.section {
            Section::Val if !self.ema => return Some(self.epoch_event(eval, None)),
            Section::Val => self.val = Some(eval),
            Section::Ema => {
                let val = self.val.take()?;
                return Some(self.epoch_event(val, Some(eval)));
            }
            _ => {}
        }
        None
    }

    fn epoch_event(&mut self, val: Eval, ema: Option<Eval>) -> MetricEvent {
        let ips = if self.img_s.is_empty() {
            f64::NAN
        } else {
            self.img_s.iter().sum::<f64>() / self.img_s.len() as f64
        };
        self.section = Section::None;
        MetricEvent::Epoch {
            epoch: self.epoch.max(0),
            lr: self.lr,
            train_loss: self.train.0,
            train_acc1: self.train.1,
            train_acc5: self.train.2,
            val,
            ema,
            epoch_time_s: self.epoch_time_s,
            images_per_sec: ips,
        }
    }
}

/// What the hand-off needs: `train.py` in the references checkout, `torchrun`, and a Python
/// that imports torch and torchvision. The error says which is missing and how to fix it.
pub fn check_available(refs: Option<&Path>, python: &str) -> Result<PathBuf> {
    let Some(refs) = refs else {
        bail!(
            "the torchrun backend needs `torchvision_references = \"/path/to/vision/references/classification\"` \
             in settings.toml ({}); clone https://github.com/pytorch/vision to get it",
            crate::store::Settings::path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "the user config directory".into())
        );
    };
    let script = refs.join("train.py");
    if !script.is_file() {
        bail!(
            "torchvision_references = {}: no train.py there; point it at torchvision's references/classification directory",
            refs.display()
        );
    }
    let ok = Command::new(python)
        .args(["-c", "import torch, torchvision"])
        .output();
    match ok {
        Ok(o) if o.status.success() => {}
        Ok(o) => bail!(
            "`{python}` cannot import PyTorch and torchvision ({}); install them (pip install torch torchvision) \
             or set ABLATE_PYTHON to a Python that has them",
            String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("").trim()
        ),
        Err(e) => bail!("cannot run `{python}` ({e}); the torchrun backend needs Python with PyTorch and torchvision (ABLATE_PYTHON)"),
    }
    let torchrun = Command::new("torchrun").arg("--help").output();
    if !torchrun.is_ok_and(|o| o.status.success()) {
        bail!("`torchrun` is not on PATH; it comes with PyTorch (pip install torch)");
    }
    Ok(script)
}

/// Runs the exported torchrun command of one run in `refs`, appending its output to the run's
/// log.txt and its epochs to metrics.jsonl. Returns train.py's exit code.
pub fn train(
    recipe: &crate::recipe::Recipe,
    refs: &Path,
    run_dir: &Path,
    seed: u64,
) -> Result<i32> {
    use std::io::{BufRead, Write};
    let (cmd, _notes) = crate::recipe::torchvision::export(recipe);
    let mut argv = crate::recipe::torchvision::split_command(&cmd);
    argv.push("--output-dir".into());
    argv.push(run_dir.to_string_lossy().into_owned());
    if run_dir.join("checkpoint.pth").is_file() {
        argv.push("--resume".into());
        argv.push(
            run_dir
                .join("checkpoint.pth")
                .to_string_lossy()
                .into_owned(),
        );
    }
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run_dir.join("log.txt"))
        .with_context(|| format!("{}", run_dir.join("log.txt").display()))?;
    writeln!(
        log,
        "# ablate torchrun hand-off in {}: {}",
        refs.display(),
        argv.join(" ")
    )?;
    let mut metrics = crate::store::metrics::MetricsWriter::append(&run_dir.join("metrics.jsonl"))?;
    metrics.write(&MetricEvent::Start {
        version: crate::store::metrics::METRICS_FORMAT_VERSION,
        time: crate::store::time::now(),
        seed,
        device: "torchrun".into(),
        start_epoch: 0,
        epochs: recipe.epochs,
        iters_per_epoch: 0,
        train_images: 0,
        val_images: 0,
    })?;
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(refs)
        .stdout(std::process::Stdio::piped())
        .stderr(log.try_clone()?)
        .spawn()
        .with_context(|| format!("cannot start `{}`", argv.join(" ")))?;
    let mut parser = LogParser::new(recipe.model_ema);
    let out = child.stdout.take().context("no stdout")?;
    for line in std::io::BufReader::new(out).lines() {
        let line = line?;
        writeln!(log, "{line}")?;
        if let Some(ev) = parser.feed(&line) {
            metrics.write(&ev)?;
        }
    }
    let status = child.wait()?;
    if status.success() {
        metrics.write(&MetricEvent::Done {
            time: crate::store::time::now(),
        })?;
    }
    Ok(status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of train.py's output (torchvision 0.16 references/classification, print_freq
    /// 1, two epochs, EMA on), trimmed to the lines the parser reads and a few it must skip.
    const LOG: &str = "\
Namespace(data_path='/data/imagenet', model='resnet50', epochs=2, model_ema=True)
Loading data
Creating model
Start training
Epoch: [0]  [  0/2]  eta: 0:00:07  lr: 0.5  img/s: 81.04  loss: 6.9632 (6.9632)  acc1: 0.0000 (0.0000)  acc5: 0.7812 (0.7812)  time: 3.5771  data: 1.9867  max mem: 10402
Epoch: [0]  [  1/2]  eta: 0:00:00  lr: 0.5  img/s: 1048.50  loss: 6.8811 (6.9221)  acc1: 0.3906 (0.1953)  acc5: 1.5625 (1.1719)  time: 1.8613  data: 0.9934  max mem: 10402
Epoch: [0] Total time: 0:00:03
Test:   [0/1]  eta: 0:00:01  loss: 6.8900 (6.8900)  acc1: 0.4000 (0.4000)  acc5: 2.0000 (2.0000)  time: 1.2000  data: 1.0000  max mem: 10402
Test:  Total time: 0:00:01
 * Acc@1 0.400 Acc@5 2.000
Test: EMA  [0/1]  eta: 0:00:01  loss: 6.9070 (6.9070)  acc1: 0.1000 (0.1000)  acc5: 0.9000 (0.9000)  time: 1.1000  data: 1.0000  max mem: 10402
Test: EMA Total time: 0:00:01
 * Acc@1 0.100 Acc@5 0.900
Epoch: [1]  [  0/2]  eta: 0:00:02  lr: 0.25  img/s: 1100.00  loss: 6.7000 (6.7000)  acc1: 0.7812 (0.7812)  acc5: 3.1250 (3.1250)  time: 1.0000  data: 0.1000  max mem: 10402
Epoch: [1]  [  1/2]  eta: 0:00:00  lr: 0.25  img/s: 1200.00  loss: 6.6000 (6.6500)  acc1: 1.1719 (0.9766)  acc5: 3.5156 (3.3203)  time: 1.0000  data: 0.1000  max mem: 10402
Epoch: [1] Total time: 0:01:02
Test:   [0/1]  eta: 0:00:01  loss: 6.5000 (6.5000)  acc1: 1.2000 (1.2000)  acc5: 4.0000 (4.0000)  time: 1.2000  data: 1.0000  max mem: 10402
 * Acc@1 1.200 Acc@5 4.000
Test: EMA  [0/1]  eta: 0:00:01  loss: 6.8000 (6.8000)  acc1: 0.6000 (0.6000)  acc5: 2.8000 (2.8000)  time: 1.1000  data: 1.0000  max mem: 10402
 * Acc@1 0.600 Acc@5 2.800
Training time 0:01:09
";

    fn parse(ema: bool) -> Vec<MetricEvent> {
        let mut p = LogParser::new(ema);
        LOG.lines().filter_map(|l| p.feed(l)).collect()
    }

    #[test]
    fn parses_epochs_with_ema() {
        let ev = parse(true);
        assert_eq!(ev.len(), 2);
        let MetricEvent::Epoch {
            epoch,
            lr,
            train_loss,
            train_acc1,
            train_acc5,
            val,
            ema,
            epoch_time_s,
            images_per_sec,
        } = &ev[0]
        else {
            panic!("{:?}", ev[0])
        };
        assert_eq!((*epoch, *lr), (0, 0.5));
        // Global averages (the value in brackets) of the epoch's last logged iteration.
        assert_eq!(
            (*train_loss, *train_acc1, *train_acc5),
            (6.9221, 0.1953, 1.1719)
        );
        assert_eq!(
            *val,
            Eval {
                loss: 6.89,
                acc1: 0.4,
                acc5: 2.0
            }
        );
        assert_eq!(
            *ema,
            Some(Eval {
                loss: 6.907,
                acc1: 0.1,
                acc5: 0.9
            })
        );
        assert_eq!(*epoch_time_s, 3.0);
        // Mean of the logged img/s: (81.04 + 1048.5) / 2.
        assert!((images_per_sec - 564.77).abs() < 1e-9);
        let MetricEvent::Epoch {
            epoch,
            lr,
            val,
            ema,
            epoch_time_s,
            ..
        } = &ev[1]
        else {
            panic!()
        };
        assert_eq!((*epoch, *lr, *epoch_time_s), (1, 0.25, 62.0));
        assert_eq!(val.acc1, 1.2);
        assert_eq!(ema.map(|e| e.acc5), Some(2.8));
    }

    #[test]
    fn without_ema_each_eval_ends_an_epoch() {
        // The same log as an EMA-free recipe prints it: no `Test: EMA` blocks.
        let mut in_ema = false;
        let mut p = LogParser::new(false);
        let mut ev = Vec::new();
        for l in LOG.lines() {
            let skip = l.starts_with("Test: EMA") || (in_ema && l.starts_with(" * "));
            if l.starts_with("Test: EMA") {
                in_ema = true;
            } else if l.starts_with(" * ") {
                in_ema = false;
            }
            if skip {
                continue;
            }
            ev.extend(p.feed(l));
        }
        let got: Vec<(i64, f64, f64, Option<Eval>)> = ev
            .iter()
            .map(|e| match e {
                MetricEvent::Epoch {
                    epoch, val, ema, ..
                } => (*epoch, val.acc1, val.loss, *ema),
                _ => panic!("{e:?}"),
            })
            .collect();
        assert_eq!(got, vec![(0, 0.4, 6.89, None), (1, 1.2, 6.5, None)]);
    }

    #[test]
    fn newer_summary_format() {
        // torchvision >= 0.15: `{header} Acc@1 .. Acc@5 ..` instead of ` * Acc@1 ..`.
        let log = "Epoch: [0]  [0/1]  eta: 0:00:01  lr: 0.1  img/s: 10.0  loss: 2.0000 (2.0000)  acc1: 10.0000 (10.0000)  acc5: 50.0000 (50.0000)\n\
                   Test:   [0/1]  eta: 0:00:01  loss: 1.5000 (1.5000)  acc1: 20.0000 (20.0000)  acc5: 60.0000 (60.0000)\n\
                   Test:  Acc@1 20.000 Acc@5 60.000\n\
                   Test: EMA  [0/1]  eta: 0:00:01  loss: 1.4000 (1.4000)  acc1: 21.0000 (21.0000)  acc5: 61.0000 (61.0000)\n\
                   Test: EMA Acc@1 21.000 Acc@5 61.000\n";
        let mut p = LogParser::new(true);
        let ev: Vec<MetricEvent> = log.lines().filter_map(|l| p.feed(l)).collect();
        assert_eq!(ev.len(), 1);
        let MetricEvent::Epoch { val, ema, lr, .. } = &ev[0] else {
            panic!()
        };
        assert_eq!(*lr, 0.1);
        assert_eq!(
            *val,
            Eval {
                loss: 1.5,
                acc1: 20.0,
                acc5: 60.0
            }
        );
        assert_eq!(
            *ema,
            Some(Eval {
                loss: 1.4,
                acc1: 21.0,
                acc5: 61.0
            })
        );
    }

    #[test]
    fn missing_references_or_python_is_a_clear_error() {
        let e = check_available(None, "python3").unwrap_err().to_string();
        assert!(e.contains("torchvision_references"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = check_available(Some(dir.path()), "python3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no train.py there"), "{e}");
        std::fs::write(dir.path().join("train.py"), "").unwrap();
        let e = check_available(Some(dir.path()), "/nonexistent/python")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot run `/nonexistent/python`"), "{e}");
        // A Python without torch (this machine's): the import error is named.
        let e = check_available(Some(dir.path()), "false")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot import PyTorch and torchvision"), "{e}");
    }
}
