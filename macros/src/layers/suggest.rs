//! "Did you mean" for misspelt layers, and the staticnn spelling of
//! layers written as PyTorch or Keras write them (each layer's own
//! translation is its `LayerDef::foreign`).

use crate::parse::Entry;
use crate::shape::args::{display, edit_distance, expr_text};

/// An entry's arguments as written, for translating them.
pub struct Written<'a> {
    entry: &'a Entry,
    /// The positional arguments' text.
    pub args: Vec<String>,
}

impl<'a> Written<'a> {
    pub fn of(entry: &'a Entry) -> Self {
        Written {
            entry,
            args: entry.args.iter().map(expr_text).collect(),
        }
    }

    /// The text of option `key`, if given (Keras' `padding="same"`
    /// without its quotes).
    pub fn named(&self, key: &str) -> Option<String> {
        self.entry
            .named
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| expr_text(v).trim_matches('"').to_string())
    }

    /// `, ours = value` for each option given under its other name.
    pub fn options(&self, renames: &[(&str, &str)]) -> String {
        renames
            .iter()
            .filter_map(|(theirs, ours)| self.named(theirs).map(|v| format!(", {ours} = {v}")))
            .collect()
    }
}

/// Window options by their PyTorch and Keras names.
pub const WINDOW_OPTIONS: &[(&str, &str)] = &[
    ("stride", "stride"),
    ("strides", "stride"),
    ("padding", "padding"),
];

/// The staticnn spelling of an entry written as PyTorch or Keras write a
/// layer (`Linear(784, 128)` is `Dense(128)`, `Conv2d(1, 16, 3)` is
/// `Conv2d(16, kernel = 3)`), and whether an input size was dropped,
/// since staticnn infers it. `None` for a staticnn spelling.
pub fn foreign_spelling(entry: &Entry) -> Option<(String, bool)> {
    let kind = entry.kind.to_string();
    let alias = super::by_alias(&kind).map(|(def, _)| def);
    let def = alias.or_else(|| super::find(&kind))?;
    if let Some(spelling) = (def.foreign)(entry, alias.is_some()) {
        return Some(spelling);
    }
    // Another name for the layer, the arguments as they are.
    alias.map(|def| {
        let written = display(entry);
        (format!("{}{}", def.name, &written[kind.len()..]), false)
    })
}

/// The error for a layer written as PyTorch or Keras write it, if it is
/// one.
pub fn foreign_layer(entry: &Entry) -> Option<String> {
    let (ours, inferred) = foreign_spelling(entry)?;
    let written = display(entry);
    let kind = entry.kind.to_string();
    let has = |keys: &[&str]| {
        entry
            .named
            .iter()
            .any(|(k, _)| keys.iter().any(|key| k == key))
    };
    let whose = match super::by_alias(&kind) {
        Some((_, whose)) => whose,
        None if has(&["units", "filters", "pool_size", "strides", "use_bias"]) => "Keras'",
        None if inferred || has(&["kernel_size", "negative_slope", "out_features"]) => "PyTorch's",
        None => "another framework's",
    };
    let why = if inferred {
        "; staticnn infers each layer's input size from the layer before"
    } else {
        ""
    };
    Some(format!(
        "`{written}` is {whose} spelling{why}: write `{ours}`"
    ))
}

/// The message for an unknown layer `name`; `networks` are the networks
/// declared earlier in the same `network!` (usable as layers).
pub fn unknown_layer(name: &str, networks: &[String]) -> String {
    let layers: Vec<&str> = super::ALL.iter().map(|d| d.name).collect();
    let candidates: Vec<&str> = layers
        .iter()
        .copied()
        .chain(networks.iter().map(String::as_str))
        .collect();
    let suggestion = super::by_alias(name)
        .map(|(def, _)| def.name)
        .or_else(|| {
            candidates
                .iter()
                .copied()
                .find(|l| l.eq_ignore_ascii_case(name))
        })
        .or_else(|| {
            candidates
                .iter()
                .copied()
                .find(|l| edit_distance(l, name) <= 2)
        });
    match suggestion {
        Some(s) => format!("unknown layer `{name}`; did you mean `{s}`?"),
        None => format!(
            "unknown layer `{name}`; expected one of {}, or a network: one declared earlier in this `network!` block, or one from elsewhere with its output shape, `{name} -> [..]`",
            layers.join(", ")
        ),
    }
}
