//! Reading layer arguments: sizes, pairs of sizes, numbers, flags and the
//! `key = value` options, each with an error at the user's token.

use super::{ConstCheck, Dim, Errors};
use crate::parse::Entry;
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprTuple, ExprUnary, Lit, UnOp};

pub fn expr_text(e: &Expr) -> String {
    e.to_token_stream().to_string().replace(' ', "")
}

/// A size: a positive integer literal, or a const expression checked by
/// rustc. With `allow_zero` (padding), zero is allowed.
pub fn size(
    e: &Expr,
    what: &str,
    allow_zero: bool,
    checks: &mut Vec<ConstCheck>,
) -> syn::Result<Dim> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => {
            let n: u64 = i.base10_parse()?;
            if n == 0 && !allow_zero {
                return Err(syn::Error::new(
                    i.span(),
                    format!("{what} must be at least 1, found 0"),
                ));
            }
            Ok(Dim::Known(n))
        }
        Expr::Lit(ExprLit { lit, .. }) => Err(syn::Error::new(
            lit.span(),
            format!(
                "{what} must be a whole number (an integer literal or a `const` item), found `{}`",
                expr_text(e)
            ),
        )),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), ..
        }) => Err(syn::Error::new(
            e.span(),
            format!(
                "{what} must be a positive whole number, found `{}`",
                expr_text(e)
            ),
        )),
        Expr::Tuple(_) | Expr::Array(_) => Err(syn::Error::new(
            e.span(),
            format!("{what} must be one whole number, found `{}`", expr_text(e)),
        )),
        _ => {
            if let Expr::Path(p) = e {
                if p.path.is_ident("B") {
                    return Err(syn::Error::new(
                        e.span(),
                        "`B` is the backend parameter that `network!` adds to the struct; rename this constant",
                    ));
                }
            }
            let text = expr_text(e);
            if !allow_zero {
                checks.push(ConstCheck {
                    cond: quote!((#e) > 0),
                    message: format!("{what} `{text}` must be at least 1"),
                    span: e.span(),
                });
            }
            Ok(Dim::Const(e.to_token_stream(), text))
        }
    }
}

/// A `(rows, cols)` pair written `n` (square) or `(r, c)`.
pub fn pair(
    e: &Expr,
    what: &str,
    allow_zero: bool,
    checks: &mut Vec<ConstCheck>,
) -> syn::Result<(Dim, Dim)> {
    match e {
        Expr::Tuple(ExprTuple { elems, .. }) if elems.len() == 2 => Ok((
            size(&elems[0], &format!("{what} (rows)"), allow_zero, checks)?,
            size(&elems[1], &format!("{what} (columns)"), allow_zero, checks)?,
        )),
        Expr::Tuple(_) | Expr::Array(_) => Err(syn::Error::new(
            e.span(),
            format!(
                "{what} must be one number or a pair `(rows, cols)`, found `{}`",
                expr_text(e)
            ),
        )),
        _ => {
            let d = size(e, what, allow_zero, checks)?;
            Ok((d.clone(), d))
        }
    }
}

/// A float literal, possibly negated, as its value.
pub fn float_lit(e: &Expr) -> Option<f64> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<u64>().ok().map(|v| v as f64),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => float_lit(expr).map(|v| -v),
        _ => None,
    }
}

/// A float argument: a literal, or a const path passed through as an f32
/// expression.
pub fn float_arg(e: &Expr, what: &str) -> syn::Result<(Option<f64>, TokenStream)> {
    if let Some(v) = float_lit(e) {
        return Ok((
            Some(v),
            Literal::f32_unsuffixed(v as f32).into_token_stream(),
        ));
    }
    match e {
        Expr::Path(_) | Expr::Paren(_) | Expr::Binary(_) => Ok((None, quote!(((#e) as f32)))),
        _ => Err(syn::Error::new(
            e.span(),
            format!("{what} must be a number, found `{}`", expr_text(e)),
        )),
    }
}

/// `true` or `false`.
pub fn bool_arg(e: &Expr, key: &str, errors: &mut Errors) -> Option<bool> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Some(b.value),
        _ => {
            errors.err(e.span(), format!("`{key}` must be `true` or `false`"));
            None
        }
    }
}

/// The value of option `key`, if given.
pub fn named<'a>(entry: &'a Entry, key: &str) -> Option<&'a Expr> {
    entry.named.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Report every `key = value` whose key is not in `allowed`, and every key
/// given twice.
pub fn check_named(entry: &Entry, allowed: &[&str], errors: &mut Errors) {
    let kind = &entry.kind;
    for (i, (k, _)) in entry.named.iter().enumerate() {
        let key = k.to_string();
        if !allowed.contains(&key.as_str()) {
            let close = allowed
                .iter()
                .find(|a| super::suggest::edit_distance(a, &key) <= 2);
            let hint = match close {
                Some(a) => format!("; did you mean `{a}`?"),
                None if allowed.is_empty() => String::new(),
                None => format!("; expected {}", quoted_list(allowed)),
            };
            errors.err(
                k.span(),
                format!("unknown argument `{key}` for {kind}{hint}"),
            );
        } else if entry.named[..i].iter().any(|(p, _)| p == k) {
            errors.err(k.span(), format!("{kind}'s `{key}` is given twice"));
        }
    }
}

pub fn quoted_list(items: &[&str]) -> String {
    let q: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    match q.len() {
        0 => String::new(),
        1 => q[0].clone(),
        n => format!("{} or {}", q[..n - 1].join(", "), q[n - 1]),
    }
}

/// The value given positionally at `index` or as `key = value`; an error
/// if both.
pub fn positional_or_named<'a>(
    entry: &'a Entry,
    index: usize,
    key: &str,
    errors: &mut Errors,
) -> Option<&'a Expr> {
    match (entry.args.get(index), named(entry, key)) {
        (Some(_), Some(v)) => {
            errors.err(v.span(), format!("{}'s `{key}` is given twice", entry.kind));
            entry.args.get(index)
        }
        (a, b) => a.or(b),
    }
}

/// Reject more than `max` positional arguments.
pub fn max_positional(entry: &Entry, max: usize, usage: &str, errors: &mut Errors) -> bool {
    if let Some(extra) = entry.args.get(max) {
        errors.err(
            extra.span(),
            format!(
                "{} takes {max} positional argument{}, found {}; {usage}",
                entry.kind,
                if max == 1 { "" } else { "s" },
                entry.args.len()
            ),
        );
        return false;
    }
    true
}

/// A layer that takes one optional argument `key`, by position or name
/// (`Dropout(0.5)`, `Dropout(p = 0.5)`).
pub fn single_arg<'a>(entry: &'a Entry, key: &str, errors: &mut Errors) -> Option<&'a Expr> {
    check_named(entry, &[key], errors);
    max_positional(entry, 1, &format!("the only argument is `{key}`"), errors);
    positional_or_named(entry, 0, key, errors)
}

pub fn no_args(entry: &Entry, errors: &mut Errors) {
    if let Some(span) = entry.args_span {
        let kind = &entry.kind;
        errors.err(span, format!("{kind} takes no arguments; write `{kind}`"));
    }
}

/// The arguments as the user wrote them, for `summary()`:
/// `Conv2d(6, kernel = 5, padding = 2)`.
pub fn display(entry: &Entry) -> String {
    let kind = entry.kind.to_string();
    if entry.args.is_empty() && entry.named.is_empty() {
        return kind;
    }
    let parts: Vec<String> = entry
        .args
        .iter()
        .map(expr_text)
        .chain(
            entry
                .named
                .iter()
                .map(|(k, v)| format!("{k} = {}", expr_text(v))),
        )
        .collect();
    format!("{kind}({})", parts.join(", "))
}

/// The span to blame for a missing argument: the parentheses, or the name.
pub fn args_span(entry: &Entry) -> Span {
    entry.args_span.unwrap_or(entry.kind.span())
}
