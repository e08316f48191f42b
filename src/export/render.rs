//! The stacked diff table in the layout of torchvision's recipe post (Accuracy@1, Accuracy@5,
//! Incremental Diff, Absolute Diff), plus n, std and p-value columns.
use crate::stats::{Diff, Metric, RowStats, Stat};

fn num(x: Option<f64>, prec: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.prec$}"),
        _ => "-".into(),
    }
}

fn signed(d: Option<&Diff>) -> String {
    match d {
        Some(d) if d.delta.is_finite() => format!("{:+.3}", d.delta),
        _ => "-".into(),
    }
}

fn p_value(d: Option<&Diff>) -> String {
    match d.and_then(|d| d.welch) {
        Some(w) if w.p < 1e-4 => "<1e-4".into(),
        Some(w) => format!("{:.4}", w.p),
        None => "-".into(),
    }
}

/// n as "done/expected" plus what is missing, e.g. `2/3 (1 running)`.
fn n_cell(r: &RowStats) -> String {
    let i = &r.input;
    let mut extra = Vec::new();
    for (k, what) in [
        (i.running, "running"),
        (i.queued, "queued"),
        (i.failed, "failed"),
        (i.no_result, "no result"),
    ] {
        if k > 0 {
            extra.push(format!("{k} {what}"));
        }
    }
    let base = format!("{}/{}", r.n(), i.expected);
    if extra.is_empty() {
        base
    } else {
        format!("{base} ({})", extra.join(", "))
    }
}

/// `note` goes under the table (e.g. which per-run summary was used).
pub fn render_table(
    rows: &[RowStats],
    stat: Stat,
    metric: Metric,
    markdown: bool,
    note: &str,
) -> String {
    let header = [
        "Row".to_string(),
        "Accuracy@1".into(),
        "Accuracy@5".into(),
        "Incremental Diff".into(),
        "Absolute Diff".into(),
        "n".into(),
        format!("std {}", metric.as_str()),
        "p (incr.)".into(),
        "p (abs.)".into(),
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.input.label.clone(),
                num(r.acc1.as_ref().map(|d| stat.of(d)), 3),
                num(r.acc5.as_ref().map(|d| stat.of(d)), 3),
                signed(r.incremental.as_ref()),
                signed(r.absolute.as_ref()),
                n_cell(r),
                num(r.describe(metric).map(|d| d.std), 3),
                p_value(r.incremental.as_ref()),
                p_value(r.absolute.as_ref()),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            body.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(c, s)| {
                if c == 0 {
                    format!("{s:<w$}", w = widths[c])
                } else {
                    format!("{s:>w$}", w = widths[c])
                }
            })
            .collect();
        if markdown {
            format!("| {} |", padded.join(" | "))
        } else {
            padded.join("  ")
        }
    };
    let mut out = String::new();
    out.push_str(&line(&header));
    out.push('\n');
    if markdown {
        let rule: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(c, w)| {
                if c == 0 {
                    format!(":{}", "-".repeat(w.saturating_sub(1).max(1)))
                } else {
                    format!("{}:", "-".repeat(w.saturating_sub(1).max(1)))
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
    } else {
        out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
        out.push('\n');
    }
    for r in &body {
        out.push_str(&line(r));
        out.push('\n');
    }
    out.push_str(&format!(
        "\nAccuracies: {} of seeds per row; diffs of that statistic on {}. p: Welch t-test on the \
         means (vs previous row / vs baseline). {note}\n",
        stat.as_str(),
        metric.as_str()
    ));
    out
}
