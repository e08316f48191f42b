//! `plan`, `schedule`, `import-torchvision`, `export-torchvision`, `check` (owner: recipe core).
//! Commands here only format: the logic lives in `recipe`, `plan` and `check`.
use super::PresetArgs;
use crate::plan::{changes, expand, recipe_hash, runs, Row};
use crate::recipe::{
    resolve_study_with, resolve_unvalidated, schedule, torchvision, EnvMode, PlanKind, Recipe,
};
use anyhow::{bail, Result};

/// One line per changed parameter: `lr 0.1 -> 0.5`.
fn change_text(before: &Recipe, after: &Recipe) -> String {
    let c = changes(before, after);
    if c.is_empty() {
        return "(no change)".into();
    }
    c.iter()
        .map(|(k, a, b)| format!("{k} {a} -> {b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn plan(args: &PresetArgs) -> Result<i32> {
    let study = resolve_study_with(args, EnvMode::Lenient)?;
    let rows = expand(&study)?;
    let kind = study.plan.kind.as_str();
    let versus = if study.plan.kind == PlanKind::Stacked {
        "the previous row"
    } else {
        "row 0"
    };
    println!(
        "{} ({kind} plan, {} seeds; changes versus {versus}, row 0 versus torchvision defaults)",
        study.name, study.seeds
    );
    for row in &rows {
        let reference = match (row.index, study.plan.kind) {
            (0, _) => Recipe::default(),
            (i, PlanKind::Stacked) => rows[i - 1].recipe.clone(),
            _ => rows[0].recipe.clone(),
        };
        let what = match &row.eval_sweep {
            Some(sw) => format!(
                "eval-only: {} in {:?} on row {}'s checkpoints (no new runs)",
                sw.param,
                sw.values,
                row.index.saturating_sub(1)
            ),
            None => change_text(&reference, &row.recipe),
        };
        println!(
            "{:>3}  {:<28} {}  {what}",
            row.index,
            row.label,
            recipe_hash(&row.recipe)
        );
    }
    let all = runs(&rows, study.seeds);
    let training = rows.iter().filter(|r| r.eval_sweep.is_none()).count();
    let epochs: i64 = all.iter().map(|r| r.recipe.epochs).sum();
    println!(
        "runs: {} ({training} training rows x {} seeds, {epochs} epochs in all)",
        all.len(),
        study.seeds
    );
    Ok(0)
}

fn row_of(args: &PresetArgs, row: usize) -> Result<Row> {
    let study = resolve_study_with(args, EnvMode::Lenient)?;
    let mut rows = expand(&study)?;
    if row >= rows.len() {
        bail!(
            "--row {row}: {} has rows 0..={}",
            study.name,
            rows.len() - 1
        );
    }
    Ok(rows.swap_remove(row))
}

pub fn schedule(args: &PresetArgs, row: usize) -> Result<i32> {
    let row = row_of(args, row)?;
    println!("epoch,lr");
    for (e, lr) in schedule::lr_table(&row.recipe).iter().enumerate() {
        println!("{e},{lr}");
    }
    Ok(0)
}

pub fn import_torchvision(command: &[String]) -> Result<i32> {
    let imported = torchvision::import(command)?;
    for n in &imported.notes {
        eprintln!("note: {n}");
    }
    println!("# Imported from: {}", command.join(" "));
    print!("{}", toml::to_string(&imported.recipe)?);
    Ok(0)
}

pub fn export_torchvision(args: &PresetArgs, row: usize) -> Result<i32> {
    let row = row_of(args, row)?;
    let (cmd, notes) = torchvision::export(&row.recipe);
    for n in &notes {
        eprintln!("note: {n}");
    }
    println!("{cmd}");
    if let Some(sw) = &row.eval_sweep {
        let flag = format!("--{}", sw.param.replace('_', "-"));
        eprintln!(
            "note: `{}` is eval-only: train with the command above, then for each value V in {:?} \
             evaluate with the same command plus --test-only --resume OUTPUT/checkpoint.pth {flag} V",
            row.label, sw.values
        );
    }
    Ok(0)
}

pub fn check(args: &PresetArgs) -> Result<i32> {
    let study = resolve_unvalidated(args, EnvMode::Lenient)?;
    let cuda = crate::engine::device::LibtorchInfo::probe().cuda_available;
    let dataset = study.baseline_dataset();
    let mut ctx = crate::check::CheckContext::for_dataset(&dataset, cuda);
    if ctx.train_images.is_none() && !dataset.contains("${") {
        // Not an embedded dataset: ask the loader (it knows ImageFolder trees and more).
        if let Ok(d) = crate::engine::data::open(&dataset) {
            ctx.train_images = Some(d.train.len());
            ctx.image_size = d.train.typical_size();
        }
    }
    let findings = crate::check::check_study(&study, &ctx);
    let rows = crate::plan::expand_unvalidated(&study)?;
    for f in &findings {
        let label = rows.get(f.row).map_or("", |r| r.label.as_str());
        println!(
            "row {:>2} {:<24} {:<7} {}: {}",
            f.row,
            label,
            f.severity.as_str(),
            f.code,
            f.message
        );
        if let Some((k, v)) = &f.fix {
            println!("       fix: --set {k}={v}");
        }
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == crate::check::Severity::Error)
        .count();
    println!(
        "{}: {} error(s), {} warning(s), {} note(s)",
        study.name,
        errors,
        findings
            .iter()
            .filter(|f| f.severity == crate::check::Severity::Warning)
            .count(),
        findings
            .iter()
            .filter(|f| f.severity == crate::check::Severity::Note)
            .count()
    );
    Ok(if errors > 0 { 1 } else { 0 })
}
