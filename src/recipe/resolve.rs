//! The one resolver every command uses (CONTRACT): preset name or path, plain recipe files,
//! `--set key=value` and `--data PATH`, `${VAR}` in the dataset, then full validation.
use super::{closest_key, presets, Recipe, Study};
use crate::cli::PresetArgs;
use anyhow::{anyhow, bail, Context, Result};

/// How `${VAR}` in `dataset` is treated when VAR is unset (and no `--data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvMode {
    /// Error (train, run: a dataset is needed).
    Strict,
    /// Leave `${VAR}` as written (plan, schedule, export: no data is read).
    Lenient,
}

/// Loads, overrides and validates a study; errors if a `${VAR}` dataset cannot be expanded.
pub fn resolve_study(args: &PresetArgs) -> Result<Study> {
    resolve_study_with(args, EnvMode::Strict)
}

pub fn resolve_study_with(args: &PresetArgs, env: EnvMode) -> Result<Study> {
    let study = resolve_unvalidated(args, env)?;
    // Expanding validates every row (values, warmup vs epochs, plan).
    crate::plan::expand(&study)?;
    Ok(study)
}

/// Loads and applies overrides but leaves row values unchecked: `check` reports them itself.
/// Unknown keys and wrong types are still errors.
pub fn resolve_unvalidated(args: &PresetArgs, env: EnvMode) -> Result<Study> {
    let mut study = load_preset(&args.preset)?;
    for kv in &args.set {
        let (key, value) = parse_set(kv)?;
        Recipe::default()
            .with_value(&key, &value)
            .map_err(|e| anyhow!("--set {kv}: {e}"))?;
        study.set.insert(key, value);
    }
    if let Some(data) = &args.data {
        study
            .set
            .insert("dataset".into(), toml::Value::String(data.clone()));
    }
    expand_dataset_vars(&mut study, env)?;
    crate::plan::expand_unvalidated(&study)?;
    Ok(study)
}

/// An embedded preset by name, else a file path (study or plain recipe).
pub fn load_preset(preset: &str) -> Result<Study> {
    if let Some(text) = presets::embedded(preset) {
        return Study::from_toml_str(text, &format!("presets/{preset}.toml"));
    }
    if std::path::Path::new(preset).exists() {
        return Study::load(preset);
    }
    let names: Vec<String> = presets::names().iter().map(|s| s.to_string()).collect();
    let hint = closest_key(preset, &names)
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    bail!(
        "preset `{preset}`: no such file and no embedded preset of that name{hint}; embedded: {}",
        names.join(", ")
    )
}

/// `key=value` with the value read by `parse_value`.
pub fn parse_set(kv: &str) -> Result<(String, toml::Value)> {
    let (k, v) = kv
        .split_once('=')
        .with_context(|| format!("--set {kv}: expected KEY=VALUE"))?;
    Ok((k.trim().to_string(), parse_value(v.trim())))
}

/// A command-line value as a TOML scalar (`3`, `0.5`, `true`, `"x"`); a bare word is taken as
/// a string (`--set model=resnet50`).
pub fn parse_value(v: &str) -> toml::Value {
    // Numbers as Python/argparse read them too (`.5`, `5.`), which TOML rejects.
    if let Ok(i) = v.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(f) = v.parse::<f64>() {
        if f.is_finite() {
            return toml::Value::Float(f);
        }
    }
    toml::from_str::<toml::Table>(&format!("v = {v}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(v.to_string()))
}

/// Replaces `${VAR}` in every dataset value (baseline, ingredients, overrides).
fn expand_dataset_vars(study: &mut Study, env: EnvMode) -> Result<()> {
    let overridden = study.set.contains_key("dataset");
    let source = study.source.clone();
    let expand = |s: &str| -> Result<String> { expand_vars(s, env, overridden, &source) };
    study.baseline.dataset = expand(&study.baseline.dataset)?;
    for ing in &mut study.ingredients {
        if let Some(toml::Value::String(d)) = ing.set.get_mut("dataset") {
            *d = expand(d)?;
        }
    }
    if let Some(toml::Value::String(d)) = study.set.get_mut("dataset") {
        *d = expand_vars(d, env, false, &source)?;
    }
    Ok(())
}

fn expand_vars(s: &str, env: EnvMode, overridden: bool, source: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let var = &rest[start + 2..start + len];
        out.push_str(&rest[..start]);
        match std::env::var(var) {
            Ok(v) => out.push_str(&v),
            // --data replaces the dataset anyway, and lenient commands read no data.
            Err(_) if overridden || env == EnvMode::Lenient => {
                out.push_str(&rest[start..start + len + 1])
            }
            Err(_) => bail!(
                "{source}: dataset = \"{s}\": environment variable {var} is not set; \
                 set it (export {var}=/path/to/data) or pass --data PATH"
            ),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
