//! Meaning of a parsed network: every layer's arguments checked, every
//! shape inferred, every mistake turned into an error at the user's token.
//!
//! Sizes written as literals are checked here. Sizes written as paths to
//! `const` items (or other const expressions) are carried as expressions;
//! for those the expansion emits `const` assertions, spanned at the user's
//! token, that rustc evaluates.

use crate::parse::{Entry, Network};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, ExprUnary, Ident, Lit, UnOp, Visibility};

/// One dimension of a shape.
#[derive(Clone)]
pub enum Dim {
    /// A literal, known to the macro.
    Known(u64),
    /// A const expression that rustc evaluates (`HIDDEN`, `C * H * W`),
    /// with its text for messages.
    Const(TokenStream, String),
}

impl Dim {
    pub fn tokens(&self) -> TokenStream {
        match self {
            Dim::Known(n) => Literal::usize_unsuffixed(*n as usize).into_token_stream(),
            Dim::Const(e, _) => quote!({ #e }),
        }
    }

    /// The dimension as a `usize` expression (no braces).
    pub fn expr(&self) -> TokenStream {
        match self {
            Dim::Known(n) => Literal::usize_unsuffixed(*n as usize).into_token_stream(),
            Dim::Const(e, _) => quote!((#e)),
        }
    }

    fn text(&self) -> String {
        match self {
            Dim::Known(n) => n.to_string(),
            Dim::Const(_, s) => s.clone(),
        }
    }

    fn product(dims: &[Dim]) -> Dim {
        if let Some(n) = dims.iter().try_fold(1u64, |acc, d| match d {
            Dim::Known(n) => acc.checked_mul(*n),
            Dim::Const(..) => None,
        }) {
            return Dim::Known(n);
        }
        let exprs: Vec<TokenStream> = dims.iter().map(Dim::expr).collect();
        let (first, rest) = (&exprs[0], &exprs[1..]);
        let text = dims.iter().map(Dim::text).collect::<Vec<_>>().join(" * ");
        Dim::Const(quote!(#first #(* #rest)*), text)
    }
}

/// The shape of one sample.
#[derive(Clone)]
pub struct Shape(pub Vec<Dim>);

impl Shape {
    /// `::staticnn::Rank1<784>` and friends.
    pub fn ty(&self) -> TokenStream {
        let d: Vec<TokenStream> = self.0.iter().map(Dim::tokens).collect();
        match d.len() {
            1 => quote!(::staticnn::Rank1<#(#d),*>),
            2 => quote!(::staticnn::Rank2<#(#d),*>),
            _ => quote!(::staticnn::Rank3<#(#d),*>),
        }
    }

    /// `&[1, 28, 28]` as a `&'static [usize]` expression.
    pub fn dims_expr(&self) -> TokenStream {
        let d = self.0.iter().map(Dim::expr);
        quote!(&[#(#d),*])
    }

    pub fn text(&self) -> String {
        format!(
            "[{}]",
            self.0.iter().map(Dim::text).collect::<Vec<_>>().join(", ")
        )
    }

    fn flat(&self) -> Option<&Dim> {
        match self.0.as_slice() {
            [d] => Some(d),
            _ => None,
        }
    }

    pub fn size(&self) -> Dim {
        Dim::product(&self.0)
    }
}

/// Pointwise activations without arguments.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Step,
    Sigmoid,
    Tanh,
    Relu,
    Identity,
}

/// What a layer is, with its checked arguments.
pub enum Kind {
    Dense { out: Dim, bias: bool, init: Ident },
    Act(Act),
    LeakyRelu { slope: TokenStream },
    Softmax,
    Dropout { p: TokenStream },
    Flatten,
}

/// A layer with everything the expansion needs.
pub struct Layer {
    /// Struct field name.
    pub field: Ident,
    /// Weight-name prefix: the user's name, or the index as in
    /// `nn.Sequential`.
    pub torch_name: String,
    pub kind: Kind,
    pub input: Shape,
    pub output: Shape,
    /// The layer as shown by `summary()`, e.g. `Dense(128)`.
    pub display: String,
    /// Whether the user named it (named layers are public fields).
    pub named: bool,
}

/// A const assertion for a size or value the macro cannot see.
pub struct ConstCheck {
    pub cond: TokenStream,
    pub message: String,
    pub span: Span,
}

/// A fully checked network.
pub struct Plan {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub input: Shape,
    pub layers: Vec<Layer>,
    pub checks: Vec<ConstCheck>,
}

const LAYERS: &[&str] = &[
    "Dense",
    "Dropout",
    "Flatten",
    "Step",
    "Sigmoid",
    "Tanh",
    "Relu",
    "LeakyRelu",
    "Identity",
    "Softmax",
];

/// Other frameworks' names for our layers.
const ALIASES: &[(&str, &str)] = &[
    ("Linear", "Dense"),
    ("FullyConnected", "Dense"),
    ("ReLU", "Relu"),
    ("LeakyReLU", "LeakyRelu"),
    ("Logistic", "Sigmoid"),
    ("Heaviside", "Step"),
];

const INITS: &[(&str, &str)] = &[
    ("he_normal", "HeNormal"),
    ("he_uniform", "HeUniform"),
    ("glorot_normal", "GlorotNormal"),
    ("glorot_uniform", "GlorotUniform"),
    ("torch_default", "TorchDefault"),
    ("zeros", "Zeros"),
];

/// Collects errors so one expansion reports as many as it can (as
/// serde_derive's `Ctxt` does).
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    fn err(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span, msg));
    }
}

fn expr_text(e: &Expr) -> String {
    e.to_token_stream().to_string().replace(' ', "")
}

/// A size: a positive integer literal, or a const expression checked by
/// rustc.
fn dim(e: &Expr, what: &str, checks: &mut Vec<ConstCheck>) -> syn::Result<Dim> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => {
            let n: u64 = i.base10_parse()?;
            if n == 0 {
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
            checks.push(ConstCheck {
                cond: quote!((#e) > 0),
                message: format!("{what} `{text}` must be at least 1"),
                span: e.span(),
            });
            Ok(Dim::Const(e.to_token_stream(), text))
        }
    }
}

/// A float literal, possibly negated, as its value.
fn float_lit(e: &Expr) -> Option<f64> {
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
fn float_arg(e: &Expr, what: &str) -> syn::Result<(Option<f64>, TokenStream)> {
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

/// The one positional-or-named argument of a layer: `Dropout(0.5)` or
/// `Dropout(p = 0.5)`.
fn single_arg<'a>(entry: &'a Entry, key: &str, errors: &mut Errors) -> Option<&'a Expr> {
    let kind = &entry.kind;
    for (k, v) in &entry.named {
        if k != key {
            errors.err(
                k.span(),
                format!("unknown argument `{k}` for {kind}; the only one is `{key}`"),
            );
        } else if !entry.args.is_empty() {
            errors.err(v.span(), format!("{kind}'s `{key}` is given twice"));
        }
    }
    if entry.args.len() > 1 {
        errors.err(
            entry.args[1].span(),
            format!(
                "{kind} takes one argument ({key}), found {}",
                entry.args.len()
            ),
        );
    }
    entry
        .args
        .first()
        .or_else(|| entry.named.iter().find(|(k, _)| k == key).map(|(_, v)| v))
}

fn no_args(entry: &Entry, errors: &mut Errors) {
    if let Some(span) = entry.args_span {
        let kind = &entry.kind;
        errors.err(span, format!("{kind} takes no arguments; write `{kind}`"));
    }
}

/// Whether the next layer that reads this one's output (skipping Dropout)
/// is in the ReLU family, which wants He initialisation.
fn feeds_relu(entries: &[Entry], i: usize) -> bool {
    entries[i + 1..]
        .iter()
        .find(|e| e.kind != "Dropout")
        .is_some_and(|e| e.kind == "Relu" || e.kind == "LeakyRelu")
}

fn dense(
    entries: &[Entry],
    i: usize,
    input: &Shape,
    errors: &mut Errors,
    checks: &mut Vec<ConstCheck>,
) -> Option<(Kind, Shape, String)> {
    let entry = &entries[i];
    let mut bias = true;
    let mut init = if feeds_relu(entries, i) {
        "HeNormal"
    } else {
        "GlorotUniform"
    };
    for (k, v) in &entry.named {
        match k.to_string().as_str() {
            "bias" => match v {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) => bias = b.value,
                _ => errors.err(v.span(), "`bias` must be `true` or `false`"),
            },
            "init" => match v {
                Expr::Path(p)
                    if p.path
                        .get_ident()
                        .is_some_and(|id| INITS.iter().any(|(n, _)| id == n)) =>
                {
                    let id = p.path.get_ident().map(Ident::to_string).unwrap_or_default();
                    init = INITS
                        .iter()
                        .find(|(n, _)| *n == id)
                        .map_or(init, |(_, v)| v);
                }
                _ => errors.err(
                    v.span(),
                    format!(
                        "unknown initialiser `{}`; expected one of {}",
                        expr_text(v),
                        INITS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    ),
                ),
            },
            _ => errors.err(
                k.span(),
                format!("unknown argument `{k}` for Dense; expected `bias` or `init`"),
            ),
        }
    }
    let out = match entry.args.as_slice() {
        [] => {
            errors.err(
                entry.args_span.unwrap_or(entry.kind.span()),
                "Dense needs the number of output features, e.g. `Dense(128)`",
            );
            return None;
        }
        [n] => match dim(n, "Dense's number of output features", checks) {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                return None;
            }
        },
        [_, extra, ..] => {
            errors.err(
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
        errors.err(
            entry.kind.span(),
            format!(
                "Dense expects a flat input but gets {}; add `Flatten` before it",
                input.text()
            ),
        );
        return None;
    }
    let mut display = format!("Dense({})", out.text());
    if !bias {
        display = format!("Dense({}, bias = false)", out.text());
    }
    let init = Ident::new(init, Span::call_site());
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

/// Check one entry and infer its output shape. `None` when the entry is in
/// error (the error is in `errors`), which stops shape inference.
fn layer(
    entries: &[Entry],
    i: usize,
    input: &Shape,
    errors: &mut Errors,
    checks: &mut Vec<ConstCheck>,
) -> Option<(Kind, Shape, String)> {
    let entry = &entries[i];
    let name = entry.kind.to_string();
    let same = |kind: Kind, display: String| Some((kind, input.clone(), display));
    match name.as_str() {
        "Dense" => dense(entries, i, input, errors, checks),
        "Step" | "Sigmoid" | "Tanh" | "Relu" | "Identity" => {
            no_args(entry, errors);
            let act = match name.as_str() {
                "Step" => Act::Step,
                "Sigmoid" => Act::Sigmoid,
                "Tanh" => Act::Tanh,
                "Relu" => Act::Relu,
                _ => Act::Identity,
            };
            same(Kind::Act(act), name)
        }
        "LeakyRelu" => {
            let (value, slope) = match single_arg(entry, "slope", errors) {
                None => (Some(0.01), quote!(0.01)),
                Some(e) => match float_arg(e, "LeakyRelu's slope") {
                    Ok(v) => v,
                    Err(e) => {
                        errors.push(e);
                        return None;
                    }
                },
            };
            let shown = value.map_or_else(|| "..".to_string(), |v| v.to_string());
            same(Kind::LeakyRelu { slope }, format!("LeakyRelu({shown})"))
        }
        "Softmax" => {
            no_args(entry, errors);
            if input.flat().is_none() {
                errors.err(
                    entry.kind.span(),
                    format!("Softmax works on a flat vector of features but gets {}; add `Flatten` before it", input.text()),
                );
                return None;
            }
            same(Kind::Softmax, name)
        }
        "Dropout" => {
            let Some(e) = single_arg(entry, "p", errors) else {
                errors.err(
                    entry.args_span.unwrap_or(entry.kind.span()),
                    "Dropout needs the probability of dropping a value, e.g. `Dropout(0.5)`",
                );
                return None;
            };
            match float_arg(e, "Dropout's probability") {
                Ok((Some(p), tokens)) => {
                    if !(0.0..1.0).contains(&p) {
                        errors.err(
                            e.span(),
                            format!(
                                "Dropout's probability must be in [0, 1), found {}",
                                expr_text(e)
                            ),
                        );
                        return None;
                    }
                    same(Kind::Dropout { p: tokens }, format!("Dropout({p})"))
                }
                Ok((None, tokens)) => {
                    checks.push(ConstCheck {
                        cond: quote!(#tokens >= 0.0 && #tokens < 1.0),
                        message: format!(
                            "Dropout's probability `{}` must be in [0, 1)",
                            expr_text(e)
                        ),
                        span: e.span(),
                    });
                    same(
                        Kind::Dropout { p: tokens },
                        format!("Dropout({})", expr_text(e)),
                    )
                }
                Err(err) => {
                    errors.push(err);
                    None
                }
            }
        }
        "Flatten" => {
            no_args(entry, errors);
            Some((Kind::Flatten, Shape(vec![input.size()]), name))
        }
        _ => {
            let suggestion = ALIASES
                .iter()
                .find(|(alias, _)| *alias == name)
                .map(|(_, ours)| *ours)
                .or_else(|| {
                    LAYERS
                        .iter()
                        .copied()
                        .find(|l| l.eq_ignore_ascii_case(&name))
                })
                .or_else(|| {
                    LAYERS
                        .iter()
                        .copied()
                        .find(|l| edit_distance(l, &name) <= 2)
                });
            let hint = match suggestion {
                Some(s) => format!("; did you mean `{s}`?"),
                None => format!("; expected one of {}", LAYERS.join(", ")),
            };
            errors.err(entry.kind.span(), format!("unknown layer `{name}`{hint}"));
            None
        }
    }
}

/// Levenshtein distance, for "did you mean" on misspelt layer names.
fn edit_distance(a: &str, b: &str) -> usize {
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

/// Check a parsed network and infer every shape.
pub fn analyze(net: Network) -> syn::Result<Plan> {
    let mut errors = Errors::default();
    let mut checks = Vec::new();

    if net.input.is_empty() || net.input.len() > 3 {
        errors.err(
            net.input_span,
            format!(
                "the input shape needs 1 to 3 dimensions (`[features]`, `[rows, cols]` or `[channels, height, width]`), found {}",
                net.input.len()
            ),
        );
    }
    let mut input_dims = Vec::new();
    for d in &net.input {
        match dim(d, "an input dimension", &mut checks) {
            Ok(d) => input_dims.push(d),
            Err(e) => errors.push(e),
        }
    }
    if net.entries.is_empty() {
        errors.err(
            net.body_span,
            format!(
                "`{}` has no layers; add at least one, e.g. `{{ Dense(10) }}`",
                net.name
            ),
        );
    }
    if let Some(e) = errors.0.take() {
        return Err(e);
    }

    // Field names: the user's, or `layer{index}`; any clash is an error.
    let mut seen: Vec<(String, Span, bool)> = Vec::new();
    for (i, entry) in net.entries.iter().enumerate() {
        let (field, span, named) = match &entry.name {
            Some(n) => (n.to_string(), n.span(), true),
            None => (format!("layer{i}"), entry.kind.span(), false),
        };
        if let Some((_, first, first_named)) = seen.iter().find(|(f, ..)| *f == field) {
            let msg = if *first_named && named {
                format!("duplicate layer name `{field}`; every named layer needs its own name")
            } else {
                format!("the name `{field}` clashes with the field `network!` gives the unnamed layer at that index; pick another name")
            };
            let mut e = syn::Error::new(if named { span } else { *first }, msg);
            e.combine(syn::Error::new(
                if named { *first } else { span },
                format!("`{field}` first used here"),
            ));
            errors.push(e);
        } else {
            seen.push((field, span, named));
        }
    }

    let input = Shape(input_dims);
    let mut shape = input.clone();
    let mut layers = Vec::new();
    let mut shapes_known = true;
    for (i, entry) in net.entries.iter().enumerate() {
        if !shapes_known {
            // After an error the shapes are unknown, but each later layer's
            // arguments can still be checked, so the user sees every
            // mistake at once. A flat placeholder input passes the shape
            // checks that can no longer be made.
            let placeholder = Shape(vec![Dim::Known(1)]);
            let _ = layer(&net.entries, i, &placeholder, &mut errors, &mut Vec::new());
            continue;
        }
        let Some((kind, output, display)) =
            layer(&net.entries, i, &shape, &mut errors, &mut checks)
        else {
            shapes_known = false;
            continue;
        };
        let (field, torch_name, named) = match &entry.name {
            Some(n) => (n.clone(), n.to_string(), true),
            None => (
                Ident::new(&format!("layer{i}"), entry.kind.span()),
                i.to_string(),
                false,
            ),
        };
        layers.push(Layer {
            field,
            torch_name,
            kind,
            input: shape.clone(),
            output: output.clone(),
            display,
            named,
        });
        shape = output;
    }
    if let Some(e) = errors.0.take() {
        return Err(e);
    }
    Ok(Plan {
        attrs: net.attrs,
        vis: net.vis,
        name: net.name,
        input,
        layers,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(src: &str) -> syn::Result<Plan> {
        let input: crate::parse::Input = syn::parse_str(src)?;
        analyze(input.networks.into_iter().next().expect("one network"))
    }

    #[test]
    fn infers_shapes_through_flatten() {
        let p = plan("struct N: [2, 3, 4] { Flatten, Dense(5), Relu }").unwrap();
        let shapes: Vec<String> = p.layers.iter().map(|l| l.output.text()).collect();
        assert_eq!(shapes, ["[24]", "[5]", "[5]"]);
    }

    #[test]
    fn const_sizes_become_expressions_and_checks() {
        let p = plan("struct N: [C, 4] { Flatten, Dense(H) }").unwrap();
        assert_eq!(p.layers[0].output.text(), "[C * 4]");
        assert_eq!(p.layers[1].output.text(), "[H]");
        assert_eq!(p.checks.len(), 2);
    }

    #[test]
    fn he_init_before_relu_even_through_dropout() {
        let p = plan("struct N: [4] { Dense(3), Dropout(0.5), Relu, Dense(2), Sigmoid }").unwrap();
        let inits: Vec<String> = p
            .layers
            .iter()
            .filter_map(|l| match &l.kind {
                Kind::Dense { init, .. } => Some(init.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(inits, ["HeNormal", "GlorotUniform"]);
    }

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("Relux", "Relu"), 1);
        let e = plan("struct N: [4] { Sigmod }").err().unwrap().to_string();
        assert!(e.contains("did you mean `Sigmoid`"), "{e}");
    }
}
