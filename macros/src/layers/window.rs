//! What the sliding-window layers (Conv2d and the pools) share: the
//! window, the image input, and the output size along each axis, checked
//! for literals and asserted for const expressions.

use crate::parse::Entry;
use crate::shape::args::{
    args_span, check_named, display, max_positional, pair, positional_or_named,
};
use crate::shape::{ConstCheck, Ctx, Dim, Shape};
use quote::quote;
use syn::spanned::Spanned;
use syn::Expr;

/// Kernel, stride and padding along both axes.
pub struct Window {
    pub kernel: (Dim, Dim),
    pub stride: (Dim, Dim),
    pub padding: (Dim, Dim),
}

/// The `[C, H, W]` of an image input, or an error saying how to get one.
/// While guessing (after an earlier error) any input passes as an image.
pub fn image(entry: &Entry, input: &Shape, ctx: &mut Ctx) -> Option<Vec<Dim>> {
    if ctx.guessing {
        return Some(vec![
            Dim::Known(1),
            Dim::Known(1 << 16),
            Dim::Known(1 << 16),
        ]);
    }
    match input.0.as_slice() {
        dims @ [_, _, _] => Some(dims.to_vec()),
        [_] => {
            ctx.shape_err(
                entry.kind.span(),
                format!(
                    "{} expects an image `[channels, height, width]` but gets the flat input {}; declare the network's input as an image (e.g. `[1, 28, 28]`), or use Dense on flat data",
                    entry.kind,
                    input.text()
                ),
            );
            None
        }
        [h, w] => {
            ctx.shape_err(
                entry.kind.span(),
                format!(
                    "{} expects an image `[channels, height, width]` but gets {}; add a channel dimension: `[1, {}, {}]`",
                    entry.kind,
                    input.text(),
                    h.text(),
                    w.text()
                ),
            );
            None
        }
        _ => None,
    }
}

pub fn dims_text((a, b): &(Dim, Dim)) -> String {
    format!("{}x{}", a.text(), b.text())
}

/// Why a window does not work on an axis of its input.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Misfit {
    /// Larger than the padded input.
    TooLarge,
    /// Does not tile the padded input (and rounding down was not asked for).
    NotWhole,
}

/// Output length along one axis: `(input + 2 padding - kernel) / stride +
/// 1`, rounded down. Errors (or const checks) when the window does not fit
/// the padded input, and, when `exact`, when it does not tile it.
fn axis(
    entry: &Entry,
    (input, k, s, p): (&Dim, &Dim, &Dim, &Dim),
    exact: bool,
    ctx: &mut Ctx,
) -> Result<Dim, Misfit> {
    let what = entry.kind.to_string();
    if let (Dim::Known(i), Dim::Known(k), Dim::Known(s), Dim::Known(p)) = (input, k, s, p) {
        let padded = i + 2 * p;
        if *k > padded {
            return Err(Misfit::TooLarge);
        }
        if exact && (padded - k) % s != 0 {
            return Err(Misfit::NotWhole);
        }
        return Ok(Dim::Known((padded - k) / s + 1));
    }
    let (ie, ke, se, pe) = (input.expr(), k.expr(), s.expr(), p.expr());
    let span = entry.kind.span();
    // Called as a function on `usize`, not as a method: with literals on
    // the left, `(8 + 2 * 0).saturating_sub(K)` has an ambiguous integer
    // receiver (E0689). Saturating, so that a window too large gives the
    // assertion below, not an overflow in the type's size first.
    let room = quote!(::core::primitive::usize::saturating_sub(#ie + 2 * #pe, #ke));
    ctx.checks.push(ConstCheck {
        cond: quote!(#ke <= #ie + 2 * #pe),
        message: format!(
            "{what}'s window ({}) must fit its input ({}) plus padding ({} on each side)",
            k.text(),
            input.text(),
            p.text()
        ),
        span,
    });
    if exact {
        ctx.checks.push(ConstCheck {
            cond: quote!(#room % #se == 0),
            message: format!(
                "{what}'s window ({}, stride {}) must tile its input ({}) exactly, or the last rows and columns are dropped; write `floor = true` to drop them as PyTorch does",
                k.text(),
                s.text(),
                input.text()
            ),
            span,
        });
    }
    Ok(Dim::Const(
        quote!(#room / #se + 1),
        format!(
            "({} + 2*{} - {})/{} + 1",
            input.text(),
            p.text(),
            k.text(),
            s.text()
        ),
    ))
}

/// Output height and width of `win` over the image `dims`, or an error at
/// the layer that names the shapes.
pub fn output_hw(
    entry: &Entry,
    dims: &[Dim],
    win: &Window,
    exact: bool,
    ctx: &mut Ctx,
) -> Option<(Dim, Dim)> {
    let h = axis(
        entry,
        (&dims[1], &win.kernel.0, &win.stride.0, &win.padding.0),
        exact,
        ctx,
    );
    let w = axis(
        entry,
        (&dims[2], &win.kernel.1, &win.stride.1, &win.padding.1),
        exact,
        ctx,
    );
    let input = Shape(dims.to_vec()).text();
    let padded = |i: &Dim, p: &Dim| match (i, p) {
        (Dim::Known(i), Dim::Known(p)) => (i + 2 * p).to_string(),
        _ => format!("{} + 2*{}", i.text(), p.text()),
    };
    let padded_hw = format!(
        "{}x{}",
        padded(&dims[1], &win.padding.0),
        padded(&dims[2], &win.padding.1)
    );
    match (h, w) {
        (Ok(h), Ok(w)) => Some((h, w)),
        (Err(why), _) | (_, Err(why)) => {
            let msg = if why == Misfit::TooLarge {
                format!(
                    "{}'s {} window is larger than its input {input} (padded: {padded_hw}); use a smaller window{}",
                    entry.kind,
                    dims_text(&win.kernel),
                    if entry.kind == "Conv2d" { " or more padding" } else { ", or remove a pooling layer before it" }
                )
            } else {
                format!(
                    "{} does not tile its input {input}: a {} window with stride {} leaves rows or columns over (padded input {padded_hw}), which would be dropped; pick a window and stride that divide the input, or write `floor = true` to drop them as PyTorch does",
                    display(entry),
                    dims_text(&win.kernel),
                    dims_text(&win.stride)
                )
            };
            ctx.shape_err(entry.kind.span(), msg);
            None
        }
    }
}

/// A `(rows, cols)` option, or `default` when absent.
pub fn pair_or(
    e: Option<&Expr>,
    what: &str,
    allow_zero: bool,
    default: (Dim, Dim),
    ctx: &mut Ctx,
) -> Option<(Dim, Dim)> {
    match e {
        None => Some(default),
        Some(e) => match pair(e, what, allow_zero, ctx) {
            Ok(p) => Some(p),
            Err(err) => {
                ctx.errors.push(err);
                None
            }
        },
    }
}

/// `padding = same` (output as large as the input, stride 1) or `valid`
/// (no padding), Keras' names; else a size or pair.
pub fn padding(
    e: Option<&Expr>,
    kernel: &(Dim, Dim),
    stride: &(Dim, Dim),
    ctx: &mut Ctx,
) -> Option<(Dim, Dim)> {
    let word = match e {
        Some(Expr::Path(p)) => p.path.get_ident().map(|i| i.to_string()),
        _ => None,
    };
    let span = e.map(|e| e.span());
    match word.as_deref() {
        Some("valid") => Some((Dim::Known(0), Dim::Known(0))),
        Some("same") => {
            let span = span.unwrap_or_else(proc_macro2::Span::call_site);
            let h = same_half(&kernel.0, &stride.0, span, ctx);
            let w = same_half(&kernel.1, &stride.1, span, ctx);
            Some((h?, w?))
        }
        _ => pair_or(e, "padding", true, (Dim::Known(0), Dim::Known(0)), ctx),
    }
}

/// The padding on each side that keeps an axis' length (`padding =
/// same`): half of an odd kernel, at stride 1. Checked here for literals;
/// for a const kernel or stride, by const assertions at `same`.
fn same_half(kernel: &Dim, stride: &Dim, span: proc_macro2::Span, ctx: &mut Ctx) -> Option<Dim> {
    const RULE: &str = "`padding = same` needs stride 1 and an odd kernel size";
    match (kernel, stride) {
        (Dim::Known(k), Dim::Known(1)) if k % 2 == 1 => Some(Dim::Known((k - 1) / 2)),
        (Dim::Known(k), Dim::Known(s)) => {
            let why = if *s != 1 {
                format!("stride {s}")
            } else {
                format!("kernel {k}")
            };
            ctx.errors.err(
                span,
                format!("{RULE}, found {why}; give the padding as a number instead"),
            );
            None
        }
        _ => {
            let (k, s) = (kernel.expr(), stride.expr());
            for (cond, found) in [
                (quote!(#k % 2 == 1), format!("kernel `{}`", kernel.text())),
                (quote!(#s == 1), format!("stride `{}`", stride.text())),
            ] {
                ctx.checks.push(ConstCheck {
                    cond,
                    message: format!("{RULE}; check {found}, or give the padding as a number"),
                    span,
                });
            }
            Some(Dim::Const(
                quote!(::core::primitive::usize::saturating_sub(#k, 1) / 2),
                format!("({} - 1)/2", kernel.text()),
            ))
        }
    }
}

/// How a pooling layer takes its one required size.
pub struct SizeArg<'a> {
    /// Every option the layer accepts.
    pub options: &'a [&'a str],
    /// The option the size may also be given as (`kernel = 2`).
    pub key: &'a str,
    /// The hint for extra positional arguments.
    pub usage: &'a str,
    /// The error when the size is missing.
    pub missing: &'a str,
    /// The size in messages about its value.
    pub what: &'a str,
}

/// The options checked and the required size read, positional or named,
/// as a number or a pair: its expression (where errors about it point)
/// and its value.
pub fn size_arg<'e>(
    entry: &'e Entry,
    arg: SizeArg<'_>,
    ctx: &mut Ctx,
) -> Option<(&'e Expr, (Dim, Dim))> {
    check_named(entry, arg.options, &mut ctx.errors);
    max_positional(entry, 1, arg.usage, &mut ctx.errors);
    let Some(e) = positional_or_named(entry, 0, arg.key, &mut ctx.errors) else {
        ctx.errors.err(args_span(entry), arg.missing);
        return None;
    };
    let size = pair_or(
        Some(e),
        arg.what,
        false,
        (Dim::Known(1), Dim::Known(1)),
        ctx,
    )?;
    Some((e, size))
}
