//! Reading layer arguments: sizes, pairs of sizes, numbers, flags and the
//! `key = value` options, each with an error at the user's token.

use super::{ConstCheck, Ctx, Dim, Errors};
use crate::parse::Entry;
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprTuple, ExprUnary, Lit, UnOp};

/// The expression as the user would write it: `C*H*W`, `K as f32`.
pub fn expr_text(e: &Expr) -> String {
    let spaced = e.to_token_stream().to_string();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let chars: Vec<char> = spaced.chars().collect();
    // Keep a space only between two words (`K as f32`).
    (0..chars.len())
        .filter(|&i| {
            chars[i] != ' '
                || (word(i.checked_sub(1).map(|j| chars[j])) && word(chars.get(i + 1).copied()))
        })
        .map(|i| chars[i])
        .collect()
}

/// The const expressions of one network (`HIDDEN`, `C * H * W`), each
/// written once as a `const` item that the generated code names wherever
/// it needs the value. A mistake in one (a `let` variable, a value of the
/// wrong type) is then one error at the user's token, not one for every
/// type and assertion that uses it.
pub struct Hoist {
    prefix: String,
    /// `(type, the user's text, the item's name)` of each item so far.
    names: Vec<(&'static str, String, syn::Ident)>,
    pub items: Vec<TokenStream>,
}

impl Hoist {
    pub fn new(network: &syn::Ident) -> Self {
        Hoist {
            prefix: format!("__STATICNN_{network}"),
            names: Vec::new(),
            items: Vec::new(),
        }
    }

    /// The name of a `const` of type `ty` holding `e` (one per distinct
    /// expression and type).
    fn name(&mut self, e: &Expr, ty: &'static str) -> TokenStream {
        let text = expr_text(e);
        if let Some((.., name)) = self.names.iter().find(|(t, x, _)| *t == ty && *x == text) {
            return name.to_token_stream();
        }
        let name = quote::format_ident!("{}_{}", self.prefix, self.names.len());
        let item = if ty == "usize" {
            quote::quote_spanned!(e.span()=> const #name: usize = #e;)
        } else {
            // Float options accept any number type, as PyTorch does.
            quote::quote_spanned!(e.span()=> const #name: f32 = (#e) as f32;)
        };
        self.items.push(quote! {
            #[allow(non_upper_case_globals, dead_code, unused_parens, unused_braces)]
            #item
        });
        self.names.push((ty, text, name.clone()));
        name.to_token_stream()
    }

    /// An item of the network's checks (one that is not a const).
    pub fn item(&mut self, tokens: TokenStream) {
        self.items.push(tokens);
        self.names
            .push(("", String::new(), quote::format_ident!("_")));
    }

    /// How many items there are, to roll back to with [`Hoist::truncate`].
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn truncate(&mut self, len: usize) {
        self.items.truncate(len);
        self.names.truncate(len);
    }
}

/// A size: a positive integer literal, or a const expression checked by
/// rustc. With `allow_zero` (padding), zero is allowed.
pub fn size(e: &Expr, what: &str, allow_zero: bool, ctx: &mut Ctx) -> syn::Result<Dim> {
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
            let name = ctx.hoist.name(e, "usize");
            if !allow_zero {
                ctx.checks.push(ConstCheck {
                    cond: quote!(#name > 0),
                    message: format!("{what} `{text}` must be at least 1"),
                    span: e.span(),
                });
            }
            Ok(Dim::Const(name, text))
        }
    }
}

/// A `(rows, cols)` pair written `n` (square) or `(r, c)`.
pub fn pair(e: &Expr, what: &str, allow_zero: bool, ctx: &mut Ctx) -> syn::Result<(Dim, Dim)> {
    match e {
        Expr::Tuple(ExprTuple { elems, .. }) if elems.len() == 2 => Ok((
            size(&elems[0], &format!("{what} (rows)"), allow_zero, ctx)?,
            size(&elems[1], &format!("{what} (columns)"), allow_zero, ctx)?,
        )),
        Expr::Tuple(_) | Expr::Array(_) => Err(syn::Error::new(
            e.span(),
            format!(
                "{what} must be one number or a pair `(rows, cols)`, found `{}`",
                expr_text(e)
            ),
        )),
        _ => {
            let d = size(e, what, allow_zero, ctx)?;
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

/// A float argument: a literal, or a const expression (a `const` item, a
/// call to a `const fn`, arithmetic on them) hoisted into an `f32` const.
pub fn float_arg(
    e: &Expr,
    what: &str,
    hoist: &mut Hoist,
) -> syn::Result<(Option<f64>, TokenStream)> {
    if let Some(v) = float_lit(e) {
        return Ok((
            Some(v),
            Literal::f32_unsuffixed(v as f32).into_token_stream(),
        ));
    }
    match e {
        Expr::Lit(_)
        | Expr::Tuple(_)
        | Expr::Array(_)
        | Expr::Range(_)
        | Expr::Closure(_)
        | Expr::Reference(_)
        | Expr::Assign(_) => Err(syn::Error::new(
            e.span(),
            format!("{what} must be a number, found `{}`", expr_text(e)),
        )),
        _ => Ok((None, hoist.name(e, "f32"))),
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
    for (i, (k, v)) in entry.named.iter().enumerate() {
        let key = k.to_string();
        if !allowed.contains(&key.as_str()) {
            let foreign = FOREIGN_OPTIONS
                .iter()
                .find(|(theirs, ours, _)| *theirs == key && allowed.contains(ours));
            if key == "activation" {
                let act = match expr_text(v).trim_matches('"').to_lowercase().as_str() {
                    "relu" => "Relu",
                    "sigmoid" => "Sigmoid",
                    "tanh" => "Tanh",
                    "softmax" => "Softmax",
                    "linear" | "none" => "",
                    _ => "Relu",
                };
                let after = if act.is_empty() {
                    String::new()
                } else {
                    format!(", {act}")
                };
                errors.err(
                    k.span(),
                    format!("activations are layers of their own here, not Keras' `activation` option: write the activation after {kind}, as in `{kind}(..){after}`"),
                );
                continue;
            }
            if let Some((_, ours, whose)) = foreign {
                let msg = if *ours == "floor" {
                    format!("PyTorch's `ceil_mode` is `floor` here, the other way round: `ceil_mode = False` (PyTorch's default) is `floor = true`; {kind} without `floor` refuses windows that do not tile the input")
                } else {
                    format!(
                        "`{key}` is {whose} name; {kind} calls it `{ours}`: write `{ours} = {}`",
                        expr_text(v)
                    )
                };
                errors.err(k.span(), msg);
                continue;
            }
            let close = allowed.iter().find(|a| edit_distance(a, &key) <= 2);
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
    // `Relu()` as in PyTorch's `nn.ReLU()` is fine.
    if entry.args.is_empty() && entry.named.is_empty() {
        return;
    }
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

/// A range a float option must lie in: its description (`in [0, 1)`), the
/// check on a literal, and the condition asserted on a const expression.
pub struct Range {
    pub text: &'static str,
    pub ok: fn(f64) -> bool,
    pub cond: fn(&TokenStream) -> TokenStream,
}

/// A float option that must lie in a range: checked here for literals, by
/// a const assertion otherwise.
pub fn ranged_float(
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

/// Other frameworks' names for options: (theirs, ours, whose).
pub const FOREIGN_OPTIONS: &[(&str, &str, &str)] = &[
    ("kernel_size", "kernel", "PyTorch's"),
    ("negative_slope", "slope", "PyTorch's"),
    ("ceil_mode", "floor", "PyTorch's"),
    ("pool_size", "kernel", "Keras'"),
    ("strides", "stride", "Keras'"),
    ("use_bias", "bias", "Keras'"),
    ("rate", "p", "Keras'"),
    ("epsilon", "eps", "Keras'"),
];

/// Levenshtein distance.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + (ca != cb) as usize).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
