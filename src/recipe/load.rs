//! Reading study / recipe TOML with errors a user can act on: every unknown key is reported
//! with the file, the line, where it sits (baseline, ingredient "X", ...) and the closest valid
//! key; every recipe value is type-checked the same way before serde sees the document.
use super::{unknown_key_message, PlanKind, Recipe, Study};
use anyhow::{anyhow, bail, Result};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

const STUDY_KEYS: &[&str] = &[
    "name",
    "description",
    "seeds",
    "plan",
    "summary",
    "baseline",
    "ingredient",
    "set",
];
const INGREDIENT_KEYS: &[&str] = &["name", "description", "enabled", "set", "eval_sweep"];
const EVAL_SWEEP_KEYS: &[&str] = &["param", "values"];
const PLAN_KEYS: &[&str] = &["kind", "row", "params"];
const SUMMARY_KEYS: &[&str] = &["epoch", "model"];
/// Parameters an eval-only ingredient may sweep: they change evaluation, not training.
pub const EVAL_PARAMS: &[&str] = &["val_resize_size", "val_crop_size"];

/// Collects located errors so one run of `ablate check` shows them all.
struct Ctx<'a> {
    text: &'a str,
    source: &'a str,
    errors: Vec<String>,
}

impl Ctx<'_> {
    fn line(&self, span: std::ops::Range<usize>) -> usize {
        self.text[..span.start.min(self.text.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count()
            + 1
    }
    fn err(&mut self, span: std::ops::Range<usize>, place: &str, msg: String) {
        let line = self.line(span);
        self.errors
            .push(format!("{}:{line}: {place}: {msg}", self.source));
    }
    /// Reports keys of `table` not in `allowed`.
    fn keys(&mut self, table: &DeTable, allowed: &[&str], place: &str) {
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        for (k, _) in table.iter() {
            if !allowed.iter().any(|a| a == k.get_ref().as_ref()) {
                let msg = unknown_key_message(k.get_ref(), &allowed);
                self.err(k.span(), place, msg);
            }
        }
    }
    /// Checks every key and value of a recipe table (baseline, an ingredient's `set`, ...);
    /// `plain` is the same table parsed without spans.
    fn recipe_table(&mut self, table: &DeTable, plain: Option<&toml::Table>, place: &str) {
        for (k, _) in table.iter() {
            let key: &str = k.get_ref();
            let Some(value) = plain.and_then(|p| p.get(key)) else {
                continue;
            };
            if let Err(e) = Recipe::default().with_value(key, value) {
                self.err(k.span(), place, e);
            }
        }
    }
}

fn as_table<'a, 'i>(v: &'a Spanned<DeValue<'i>>) -> Option<&'a DeTable<'i>> {
    match v.get_ref() {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}

fn get<'a, 'i>(t: &'a DeTable<'i>, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
    t.iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

/// Is this document a study (vs a plain recipe)? Any study-only key decides.
fn is_study(doc: &DeTable) -> bool {
    doc.iter()
        .any(|(k, _)| STUDY_KEYS.contains(&k.get_ref().as_ref()))
}

pub(crate) fn parse_study(text: &str, source: &str) -> Result<Study> {
    let doc = DeTable::parse(text).map_err(|e| anyhow!("{source}: {e}"))?;
    let doc = doc.get_ref();
    let plain: toml::Table = toml::from_str(text).map_err(|e| anyhow!("{source}: {e}"))?;
    let sub = |t: Option<&toml::Value>| t.and_then(|v| v.as_table()).cloned();
    let mut cx = Ctx {
        text,
        source,
        errors: Vec::new(),
    };
    if !is_study(doc) {
        cx.recipe_table(doc, Some(&plain), "recipe");
        if !cx.errors.is_empty() {
            bail!("{}", cx.errors.join("\n"));
        }
        let baseline = recipe_from_table(&plain).map_err(|e| anyhow!("{source}: {e}"))?;
        let name = std::path::Path::new(source)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| source.to_string());
        return Ok(Study {
            name,
            description: String::new(),
            seeds: 3,
            plan: Default::default(),
            summary: Default::default(),
            baseline,
            ingredients: Vec::new(),
            set: Default::default(),
            source: source.to_string(),
        });
    }
    cx.keys(doc, STUDY_KEYS, "study");
    if get(doc, "name").is_none() {
        cx.errors
            .push(format!("{source}: the study has no `name = \"...\"`"));
    }
    for (key, place) in [("baseline", "[baseline]"), ("set", "[set]")] {
        if let Some(v) = get(doc, key) {
            match as_table(v) {
                Some(t) => cx.recipe_table(t, sub(plain.get(key)).as_ref(), place),
                None => cx.err(v.span(), place, format!("`{key}` must be a table")),
            }
        }
    }
    // Study-level values whose serde errors would not say where they are.
    if let Some(v) = get(doc, "plan") {
        let kind = match v.get_ref() {
            DeValue::Table(t) => get(t, "kind"),
            _ => Some(v),
        };
        match kind.map(|k| (k.span(), k.get_ref())) {
            Some((_, DeValue::String(s))) if PlanKind::ALL.contains(&s.as_ref()) => {}
            Some((span, _)) => cx.err(
                span,
                "plan",
                format!("plan kind must be one of: {}", PlanKind::ALL.join(", ")),
            ),
            None => cx.err(v.span(), "[plan]", "missing `kind`".into()),
        }
    }
    if let Some(v) = get(doc, "seeds") {
        if !matches!(v.get_ref(), DeValue::Integer(_))
            || plain.get("seeds").and_then(|s| s.as_integer()).unwrap_or(0) < 1
        {
            cx.err(v.span(), "study", "seeds must be an integer >= 1".into());
        }
    }
    if let Some(t) = get(doc, "summary").and_then(as_table) {
        for (key, allowed) in [
            ("epoch", &["final", "best"][..]),
            ("model", &["raw", "ema", "better"][..]),
        ] {
            if let Some(v) = get(t, key) {
                if !matches!(v.get_ref(), DeValue::String(s) if allowed.contains(&s.as_ref())) {
                    cx.err(
                        v.span(),
                        "[summary]",
                        format!("{key} must be one of: {}", allowed.join(", ")),
                    );
                }
            }
        }
    }
    if let Some(t) = get(doc, "summary").and_then(as_table) {
        cx.keys(t, SUMMARY_KEYS, "[summary]");
    }
    if let Some(t) = get(doc, "plan").and_then(as_table) {
        cx.keys(t, PLAN_KEYS, "[plan]");
        if let Some(p) = get(t, "params").and_then(as_table) {
            let allowed = Recipe::keys();
            for (k, _) in p.iter() {
                if !allowed.iter().any(|a| a == k.get_ref().as_ref()) {
                    let msg = unknown_key_message(k.get_ref(), &allowed);
                    cx.err(k.span(), "[plan] params", msg);
                }
            }
        }
    }
    if let Some(v) = get(doc, "ingredient") {
        if let DeValue::Array(items) = v.get_ref() {
            let plain_items = plain.get("ingredient").and_then(|v| v.as_array());
            let mut seen: Vec<String> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let plain_set = plain_items
                    .and_then(|a| a.get(i))
                    .and_then(|t| sub(t.get("set")));
                let Some(t) = as_table(item) else { continue };
                let name = match get(t, "name").map(|n| n.get_ref()) {
                    Some(DeValue::String(s)) => s.to_string(),
                    _ => format!("#{}", i + 1),
                };
                let place = format!("ingredient \"{name}\"");
                // Rows, labels and checks refer to ingredients by name.
                if seen.contains(&name) {
                    cx.err(item.span(), &place, "duplicate ingredient name".into());
                }
                seen.push(name.clone());
                cx.keys(t, INGREDIENT_KEYS, &place);
                if let Some(s) = get(t, "set").and_then(as_table) {
                    cx.recipe_table(s, plain_set.as_ref(), &format!("{place} set"));
                }
                if let Some(sw) = get(t, "eval_sweep") {
                    if let Some(swt) = as_table(sw) {
                        cx.keys(swt, EVAL_SWEEP_KEYS, &format!("{place} eval_sweep"));
                        if let Some(p) = get(swt, "param") {
                            let ok = matches!(p.get_ref(), DeValue::String(s) if EVAL_PARAMS.contains(&s.as_ref()));
                            if !ok {
                                cx.err(
                                    p.span(),
                                    &format!("{place} eval_sweep"),
                                    format!(
                                        "param must be an evaluation parameter; allowed: {}",
                                        EVAL_PARAMS.join(", ")
                                    ),
                                );
                            }
                        }
                    }
                    let sets = get(t, "set")
                        .and_then(as_table)
                        .is_some_and(|s| s.iter().next().is_some());
                    if sets {
                        cx.err(
                            sw.span(),
                            &place,
                            "an eval-only ingredient (eval_sweep) cannot also `set` training parameters; split it in two".into(),
                        );
                    }
                }
            }
        }
    }
    if !cx.errors.is_empty() {
        bail!("{}", cx.errors.join("\n"));
    }
    // Keys and recipe values are known good: coerce integer literals for float keys, then serde.
    let mut table = plain;
    coerce_recipe_tables(&mut table);
    let mut study: Study = table
        .try_into()
        .map_err(|e: toml::de::Error| anyhow!("{source}: {}", e.to_string().trim()))?;
    study.source = source.to_string();
    Ok(study)
}

/// A recipe from a table of (already checked) recipe keys.
pub(crate) fn recipe_from_table(table: &toml::Table) -> Result<Recipe, String> {
    let mut r = Recipe::default();
    for (k, v) in table {
        r = r.with_value(k, v)?;
    }
    Ok(r)
}

fn coerce_recipe_tables(doc: &mut toml::Table) {
    let coerce = |t: &mut toml::Table| {
        if let Ok(r) = recipe_from_table(t) {
            let full = toml::Table::try_from(&r).expect("a recipe always serialises");
            for (k, v) in t.iter_mut() {
                if let Some(x) = full.get(k) {
                    *v = x.clone();
                }
            }
        }
    };
    for key in ["baseline", "set"] {
        if let Some(toml::Value::Table(t)) = doc.get_mut(key) {
            coerce(t);
        }
    }
    if let Some(toml::Value::Array(items)) = doc.get_mut("ingredient") {
        for item in items {
            if let Some(toml::Value::Table(s)) = item.get_mut("set") {
                coerce(s);
            }
        }
    }
}
