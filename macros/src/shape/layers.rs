//! Layers that keep or flatten their input's shape, and Dense: activations,
//! Softmax, Dropout, Flatten, BatchNorm, Dense.

use super::args::{
    args_span, bool_arg, check_named, expr_text, float_arg, max_positional, named, no_args,
    quoted_list, single_arg, size,
};
use super::{Act, ConstCheck, Ctx, Dim, Kind, Shape, Step};
use crate::parse::Entry;
use proc_macro2::{Span, TokenStream};
use quote::quote;
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

/// Layers that sit between a weight layer and its activation without
/// changing which initialisation suits it.
const TRANSPARENT: &[&str] = &["Dropout", "BatchNorm", "MaxPool2d", "AvgPool2d"];

/// Whether the next layer that transforms this one's output (skipping
/// Dropout, BatchNorm and pooling) is in the ReLU family, which wants He
/// initialisation.
fn feeds_relu(entries: &[Entry], i: usize) -> bool {
    entries[i + 1..]
        .iter()
        .find(|e| !TRANSPARENT.iter().any(|t| e.kind == t))
        .is_some_and(|e| e.kind == "Relu" || e.kind == "LeakyRelu")
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

pub fn dense(entries: &[Entry], i: usize, input: &Shape, ctx: &mut Ctx) -> Step {
    let entry = &entries[i];
    check_named(entry, &["bias", "init"], &mut ctx.errors);
    let (bias, init) = weight_options(entries, i, ctx);
    let out = match entry.args.as_slice() {
        [] => {
            ctx.errors.err(
                args_span(entry),
                "Dense needs the number of output features, e.g. `Dense(128)`",
            );
            return None;
        }
        [n] => match size(n, "Dense's number of output features", false, ctx) {
            Ok(d) => d,
            Err(e) => {
                ctx.errors.push(e);
                return None;
            }
        },
        [_, extra, ..] => {
            ctx.errors.err(
                extra.span(),
                format!(
                    "Dense takes one positional argument (the number of output features), found {}; options are named: `Dense(10, bias = false)`",
                    entry.args.len()
                ),
            );
            return None;
        }
    };
    if input.flat().is_none() {
        ctx.shape_err(
            entry.kind.span(),
            format!(
                "Dense expects a flat input but gets {}; add `Flatten` before it",
                input.text()
            ),
        );
        return None;
    }
    let display = if bias {
        format!("Dense({})", out.text())
    } else {
        format!("Dense({}, bias = false)", out.text())
    };
    Some((
        Kind::Dense {
            out: out.clone(),
            bias,
            init,
        },
        Shape(vec![out]),
        display,
    ))
}

pub fn activation(entry: &Entry, act: Act, input: &Shape, ctx: &mut Ctx) -> Step {
    no_args(entry, &mut ctx.errors);
    Some((Kind::Act(act), input.clone(), entry.kind.to_string()))
}

pub fn leaky_relu(entry: &Entry, input: &Shape, ctx: &mut Ctx) -> Step {
    let (shown, slope) = match single_arg(entry, "slope", &mut ctx.errors) {
        None => ("0.01".to_string(), quote!(0.01)),
        Some(e) => match float_arg(e, "LeakyRelu's slope", &mut ctx.hoist) {
            Ok((value, tokens)) => (
                value.map_or_else(|| expr_text(e), |v| v.to_string()),
                tokens,
            ),
            Err(e) => {
                ctx.errors.push(e);
                return None;
            }
        },
    };
    Some((
        Kind::LeakyRelu { slope },
        input.clone(),
        format!("LeakyRelu({shown})"),
    ))
}

pub fn softmax(entry: &Entry, input: &Shape, ctx: &mut Ctx) -> Step {
    no_args(entry, &mut ctx.errors);
    if input.flat().is_none() {
        ctx.shape_err(
            entry.kind.span(),
            format!(
                "Softmax works on a flat vector of features but gets {}; add `Flatten` before it",
                input.text()
            ),
        );
        return None;
    }
    Some((Kind::Softmax, input.clone(), "Softmax".into()))
}

/// A range a float option must lie in: its description (`in [0, 1)`), the
/// check on a literal, and the condition asserted on a const expression.
struct Range {
    text: &'static str,
    ok: fn(f64) -> bool,
    cond: fn(&TokenStream) -> TokenStream,
}

/// A float option that must lie in a range: checked here for literals, by
/// a const assertion otherwise.
fn ranged_float(
    e: &Expr,
    what: &str,
    range: Range,
    ctx: &mut Ctx,
) -> Option<(TokenStream, String)> {
    let Range { text, ok, cond } = range;
    match float_arg(e, what, &mut ctx.hoist) {
        Ok((Some(v), tokens)) => {
            if !ok(v) {
                ctx.errors.err(
                    e.span(),
                    format!("{what} must be {text}, found {}", expr_text(e)),
                );
                return None;
            }
            Some((tokens, v.to_string()))
        }
        Ok((None, tokens)) => {
            ctx.checks.push(ConstCheck {
                cond: cond(&tokens),
                message: format!("{what} `{}` must be {text}", expr_text(e)),
                span: e.span(),
            });
            Some((tokens, expr_text(e)))
        }
        Err(err) => {
            ctx.errors.push(err);
            None
        }
    }
}

pub fn dropout(entry: &Entry, input: &Shape, ctx: &mut Ctx) -> Step {
    let Some(e) = single_arg(entry, "p", &mut ctx.errors) else {
        ctx.errors.err(
            args_span(entry),
            "Dropout needs the probability of dropping a value, e.g. `Dropout(0.5)`",
        );
        return None;
    };
    let (p, shown) = ranged_float(
        e,
        "Dropout's probability",
        Range {
            text: "in [0, 1)",
            ok: |v| (0.0..1.0).contains(&v),
            cond: |t| quote!(#t >= 0.0 && #t < 1.0),
        },
        ctx,
    )?;
    Some((
        Kind::Dropout { p },
        input.clone(),
        format!("Dropout({shown})"),
    ))
}

pub fn flatten(entry: &Entry, input: &Shape, ctx: &mut Ctx) -> Step {
    no_args(entry, &mut ctx.errors);
    Some((Kind::Flatten, Shape(vec![input.size()]), "Flatten".into()))
}

pub fn batch_norm(entry: &Entry, input: &Shape, ctx: &mut Ctx) -> Step {
    const OPTIONS: &[&str] = &["momentum", "eps"];
    check_named(entry, OPTIONS, &mut ctx.errors);
    max_positional(
        entry,
        0,
        &format!("options are named: {}", quoted_list(OPTIONS)),
        &mut ctx.errors,
    );
    // PyTorch's defaults.
    let mut momentum = (quote!(0.1), "0.1".to_string());
    let mut eps = (quote!(1e-5), "1e-5".to_string());
    if let Some(e) = named(entry, "momentum") {
        momentum = ranged_float(
            e,
            "BatchNorm's momentum",
            Range {
                text: "in [0, 1]",
                ok: |v| (0.0..=1.0).contains(&v),
                cond: |t| quote!(#t >= 0.0 && #t <= 1.0),
            },
            ctx,
        )?;
    }
    if let Some(e) = named(entry, "eps") {
        eps = ranged_float(
            e,
            "BatchNorm's eps",
            Range {
                text: "positive",
                ok: |v| v > 0.0,
                cond: |t| quote!(#t > 0.0),
            },
            ctx,
        )?;
    }
    let display = super::args::display(entry);
    Some((
        Kind::BatchNorm {
            momentum: momentum.0,
            eps: eps.0,
        },
        input.clone(),
        display,
    ))
}

/// A size from `Dense(n)`-like positions, reused by the window layers.
pub fn require_size(e: &Expr, what: &str, ctx: &mut Ctx) -> Option<Dim> {
    match size(e, what, false, ctx) {
        Ok(d) => Some(d),
        Err(err) => {
            ctx.errors.push(err);
            None
        }
    }
}
