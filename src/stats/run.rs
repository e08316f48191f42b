//! One run's summary number, as the study's `[summary]` asks: final or best epoch, raw, EMA or
//! the better of the two.
use crate::recipe::{Summary, SummaryEpoch, SummaryModel};
use crate::store::metrics::{Eval, MetricEvent};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunAcc {
    pub acc1: f64,
    pub acc5: f64,
}

impl From<Eval> for RunAcc {
    fn from(e: Eval) -> Self {
        RunAcc {
            acc1: e.acc1,
            acc5: e.acc5,
        }
    }
}

/// `None` when the run has no evaluated epoch (or no EMA evaluation when EMA is asked).
/// A resumed run may log an epoch twice; the last log of each epoch wins.
/// "Best" is the epoch with the highest acc1; acc5 is taken at that same epoch.
pub fn run_summary(events: &[MetricEvent], summary: Summary) -> Option<RunAcc> {
    let mut by_epoch: std::collections::BTreeMap<i64, (Eval, Option<Eval>)> = Default::default();
    for ev in events {
        if let MetricEvent::Epoch {
            epoch, val, ema, ..
        } = ev
        {
            by_epoch.insert(*epoch, (*val, *ema));
        }
    }
    let candidates = by_epoch
        .values()
        .flat_map(|(raw, ema)| match summary.model {
            SummaryModel::Raw => vec![*raw],
            SummaryModel::Ema => ema.iter().copied().collect(),
            SummaryModel::Better => std::iter::once(*raw).chain(*ema).collect(),
        });
    let pick = |a: Option<Eval>, b: Eval| match a {
        Some(a) if a.acc1 >= b.acc1 => Some(a),
        _ => Some(b),
    };
    let chosen = match summary.epoch {
        SummaryEpoch::Best => candidates.fold(None, pick),
        SummaryEpoch::Final => {
            let (raw, ema) = by_epoch.values().next_back()?;
            match summary.model {
                SummaryModel::Raw => Some(*raw),
                SummaryModel::Ema => *ema,
                SummaryModel::Better => ema.iter().copied().fold(Some(*raw), pick),
            }
        }
    };
    chosen.map(RunAcc::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(e: i64, raw: f64, ema: Option<f64>) -> MetricEvent {
        let ev = |a: f64| Eval {
            loss: 1.0,
            acc1: a,
            acc5: a + 10.0,
        };
        MetricEvent::Epoch {
            epoch: e,
            lr: 0.1,
            train_loss: 1.0,
            train_acc1: 0.0,
            train_acc5: 0.0,
            val: ev(raw),
            ema: ema.map(ev),
            epoch_time_s: 1.0,
            images_per_sec: 1.0,
        }
    }

    fn s(epoch: SummaryEpoch, model: SummaryModel) -> Summary {
        Summary { epoch, model }
    }

    #[test]
    fn final_best_raw_ema_better() {
        // Epoch 1 is logged twice (a resume): the second log (60) wins over 99.
        let evs = vec![
            epoch(0, 50.0, Some(40.0)),
            epoch(1, 99.0, Some(45.0)),
            epoch(1, 60.0, Some(70.0)),
            epoch(2, 55.0, Some(65.0)),
        ];
        let acc1 = |e, m| run_summary(&evs, s(e, m)).unwrap().acc1;
        use SummaryEpoch::*;
        use SummaryModel::*;
        assert_eq!(acc1(Final, Raw), 55.0);
        assert_eq!(acc1(Final, Ema), 65.0);
        assert_eq!(acc1(Final, Better), 65.0);
        assert_eq!(acc1(Best, Raw), 60.0);
        assert_eq!(acc1(Best, Ema), 70.0);
        assert_eq!(acc1(Best, Better), 70.0);
        assert_eq!(run_summary(&evs, s(Best, Raw)).unwrap().acc5, 70.0);
        let no_ema = vec![epoch(0, 50.0, None)];
        assert_eq!(run_summary(&no_ema, s(Final, Ema)), None);
        assert_eq!(run_summary(&[], s(Final, Raw)), None);
    }
}
