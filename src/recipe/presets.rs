//! Study presets shipped inside the binary (`presets/*.toml`), loadable by name.
/// The study `ablate` opens when given none.
pub const DEFAULT: &str = "fashion-mnist-quick";

/// (name, TOML text) of every embedded preset.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "torchvision-resnet50-v2",
        include_str!("../../presets/torchvision-resnet50-v2.toml"),
    ),
    (
        "fashion-mnist-quick",
        include_str!("../../presets/fashion-mnist-quick.toml"),
    ),
    ("smoke", include_str!("../../presets/smoke.toml")),
];

/// The TOML text of an embedded preset.
pub fn embedded(name: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

pub fn names() -> Vec<&'static str> {
    EMBEDDED.iter().map(|(n, _)| *n).collect()
}
