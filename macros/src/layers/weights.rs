//! The options of the layers with weights (Dense, Conv2d): `bias` and
//! `init`, and the default initialisation, which depends on the layers
//! after.

use crate::parse::Entry;
use crate::shape::args::{bool_arg, expr_text, named};
use crate::shape::Ctx;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, Ident};

const INITS: &[(&str, &str)] = &[
    ("he_normal", "HeNormal"),
    ("he_uniform", "HeUniform"),
    ("glorot_normal", "GlorotNormal"),
    ("glorot_uniform", "GlorotUniform"),
    ("torch_default", "TorchDefault"),
    ("zeros", "Zeros"),
];

/// Whether the next layer that transforms this one's output (skipping
/// Dropout, BatchNorm and pooling) is in the ReLU family, which wants He
/// initialisation.
fn feeds_relu(entries: &[Entry], i: usize) -> bool {
    entries[i + 1..]
        .iter()
        .map(|e| super::find(&e.kind.to_string()))
        .find(|d| !d.is_some_and(|d| d.transparent))
        .flatten()
        .is_some_and(|d| d.wants_he)
}

/// `bias = ...` and `init = ...` of a weight layer (Dense, Conv2d).
pub fn weight_options(entries: &[Entry], i: usize, ctx: &mut Ctx) -> (bool, Ident) {
    let entry = &entries[i];
    let bias = named(entry, "bias")
        .and_then(|v| bool_arg(v, "bias", &mut ctx.errors))
        .unwrap_or(true);
    let mut init = if feeds_relu(entries, i) {
        "HeNormal"
    } else {
        "GlorotUniform"
    };
    if let Some(v) = named(entry, "init") {
        let chosen = match v {
            Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|id| INITS.iter().find(|(n, _)| id == n)),
            _ => None,
        };
        match chosen {
            Some((_, variant)) => init = variant,
            None => ctx.errors.err(
                v.span(),
                format!(
                    "unknown initialiser `{}`; expected one of {}",
                    expr_text(v),
                    INITS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ),
            ),
        }
    }
    (bias, Ident::new(init, Span::call_site()))
}
