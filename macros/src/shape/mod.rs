//! Meaning of a parsed network: every layer's arguments checked, every
//! shape inferred, every mistake turned into an error at the user's token.
//!
//! Sizes written as literals are checked here. Sizes written as paths to
//! `const` items (or other const expressions) are carried as expressions;
//! for those the expansion emits `const` assertions, spanned at the user's
//! token, that rustc evaluates.

mod args;
mod block;
mod layers;
mod suggest;
mod window;

pub use window::Window;

use crate::parse::{Entry, Network};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::{Attribute, Ident, Visibility};

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

    pub fn text(&self) -> String {
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

    pub fn flat(&self) -> Option<&Dim> {
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
    Dense {
        out: Dim,
        bias: bool,
        init: Ident,
    },
    Conv2d {
        out: Dim,
        win: Window,
        bias: bool,
        init: Ident,
    },
    /// MaxPool2d (`max`) or AvgPool2d.
    Pool {
        max: bool,
        win: Window,
    },
    GlobalAvgPool,
    BatchNorm {
        momentum: TokenStream,
        eps: TokenStream,
    },
    Act(Act),
    LeakyRelu {
        slope: TokenStream,
    },
    Softmax,
    Dropout {
        p: TokenStream,
    },
    Flatten,
    /// `body(x) + shortcut(x)`; no shortcut means the identity. The
    /// shortcut carries its weight-name prefix.
    Residual {
        body: Box<Plan>,
        shortcut: Option<(String, Box<Plan>)>,
    },
    /// A layer of the user's own, `Custom(Gelu)`, built through
    /// `staticnn::layers::Build` for its input shape.
    Custom {
        ty: syn::Path,
        /// Whether its output shape was written after `->`.
        declared: bool,
    },
    /// A network declared earlier in the same invocation, or elsewhere
    /// (then possibly with a path).
    Network {
        ty: syn::Path,
        /// Declared in another `network!`: its shapes are the ones the
        /// user wrote after `->`, checked by a const assertion (see
        /// `Tensor::as_shape`).
        external: bool,
    },
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
    /// The layer's name in the user's source, where type errors in the
    /// generated calls to it point.
    pub span: Span,
}

/// A const assertion for a size or value the macro cannot see.
pub struct ConstCheck {
    pub cond: TokenStream,
    pub message: String,
    pub span: Span,
}

/// A fully checked network (or a residual block's body or shortcut, which
/// become networks of their own).
pub struct Plan {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub input: Shape,
    pub layers: Vec<Layer>,
    pub checks: Vec<ConstCheck>,
    /// The `const` items of its const expressions (see [`args::Hoist`]).
    pub consts: Vec<TokenStream>,
    /// The names of its state and gradient structs.
    pub companions: Companions,
}

/// The names of a network's state and gradient structs: hidden ones that
/// take nothing from the user's namespace, unless the user names them
/// with `#[companions(state = MlpState, grads = MlpGrads)]`.
pub struct Companions {
    pub state: Ident,
    pub grads: Ident,
}

impl Companions {
    pub fn hidden(network: &Ident) -> Self {
        let base = network.to_string();
        let base = base.trim_start_matches("__");
        Companions {
            state: quote::format_ident!("__{}State", base),
            grads: quote::format_ident!("__{}Grads", base),
        }
    }

    /// The names from the network's `#[companions(...)]`, which is removed
    /// from `attrs`; hidden names for those not given.
    fn from_attrs(network: &Ident, attrs: &mut Vec<Attribute>, errors: &mut Errors) -> Self {
        let mut names = Companions::hidden(network);
        let mut kept = Vec::new();
        for attr in attrs.drain(..) {
            if !attr.path().is_ident("companions") {
                kept.push(attr);
                continue;
            }
            let parsed = attr.parse_nested_meta(|meta| {
                let slot = if meta.path.is_ident("state") {
                    &mut names.state
                } else if meta.path.is_ident("grads") {
                    &mut names.grads
                } else {
                    return Err(meta.error(
                        "expected `state = Name` or `grads = Name`, e.g. `#[companions(state = MlpState, grads = MlpGrads)]`",
                    ));
                };
                *slot = meta.value()?.parse()?;
                Ok(())
            });
            if let Err(e) = parsed {
                errors.push(e);
            }
        }
        *attrs = kept;
        names
    }
}

impl Plan {
    pub fn output(&self) -> &Shape {
        &self.layers[self.layers.len() - 1].output
    }
}

/// What later networks of the same invocation need to use one as a layer.
pub struct NetSig {
    pub name: String,
    pub input: Shape,
    pub output: Shape,
}

impl NetSig {
    pub fn of(plan: &Plan) -> Self {
        NetSig {
            name: plan.name.to_string(),
            input: plan.input.clone(),
            output: plan.output().clone(),
        }
    }
}

/// Collects errors so one expansion reports as many mistakes as it can
/// (as serde_derive's `Ctxt` does), one error per mistake.
#[derive(Default)]
pub struct Errors(Vec<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        self.0.push(e);
    }
    pub fn err(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span, msg));
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Keep only the first error since `start`: the later ones about the
    /// same layer follow from it (an unknown option, then "needs a kernel
    /// size"; PyTorch's argument order, then a window too large).
    pub fn keep_first_since(&mut self, start: usize) {
        self.0.truncate(self.0.len().min(start + 1));
    }
    /// All errors as one, if any.
    pub fn take(&mut self) -> Option<syn::Error> {
        let mut all = std::mem::take(&mut self.0).into_iter();
        let mut first = all.next()?;
        all.for_each(|e| first.combine(e));
        Some(first)
    }
}

/// State shared by the checks of one network: errors so far, const
/// assertions to emit, and the networks declared before it.
pub struct Ctx<'a> {
    pub errors: Errors,
    pub checks: Vec<ConstCheck>,
    pub known: &'a [NetSig],
    pub vis: Visibility,
    /// The network's `#[derive(...)]` attributes, repeated on its blocks.
    pub derives: Vec<Attribute>,
    /// Checking a layer after an earlier error, with a made-up input.
    pub guessing: bool,
    /// The network's const expressions, as items.
    pub hoist: args::Hoist,
}

impl Ctx<'_> {
    /// An error about the input's shape, dropped while guessing (the shape
    /// is made up then).
    pub fn shape_err(&mut self, span: Span, msg: impl std::fmt::Display) {
        if !self.guessing {
            self.errors.err(span, msg);
        }
    }
}

/// A checked layer: its kind, output shape and `summary()` text; `None`
/// when it is in error (the error is in the context).
pub type Step = Option<(Kind, Shape, String)>;

/// Check one entry and infer its output shape.
fn layer(
    entries: &[Entry],
    i: usize,
    field: &Ident,
    owner: &Ident,
    input: &Shape,
    ctx: &mut Ctx,
) -> Step {
    let entry = &entries[i];
    if let Some(prefix) = &entry.path {
        // A network from another module, with its output shape, is the
        // one thing written with a path.
        if let (Some(path), Some(_)) = (&prefix.path, &entry.output) {
            return block::external_network(entry, path, input, ctx);
        }
        let written = format!("{}{}", prefix.text, args::display(entry));
        let msg = match suggest::foreign_spelling(entry) {
            Some((ours, _)) => format!("`{written}` is PyTorch's spelling; layers here are named without a module path: write `{ours}`"),
            None if suggest::LAYERS.iter().any(|l| entry.kind == l) => format!("layers are named without a module path: write `{}`", args::display(entry)),
            None if entry.args_span.is_some() || entry.block.is_some() => {
                let networks: Vec<String> = ctx.known.iter().map(|n| n.name.clone()).collect();
                suggest::unknown_layer(&entry.kind.to_string(), &networks)
            }
            None => format!("a network from another module is used as a layer with its output shape: `{}{} -> [..]`", prefix.text, entry.kind),
        };
        ctx.errors.err(prefix.span, msg);
        return None;
    }
    let network = ctx.known.iter().position(|n| entry.kind == n.name);
    if let (Some((_, span)), None, false) = (&entry.output, network, entry.kind == "Custom") {
        // `-> [..]` marks a network from another `network!` block.
        if suggest::LAYERS.iter().any(|l| entry.kind == l) {
            ctx.errors.err(
                *span,
                format!("`->` declares the output shape of a network used as a layer; `{}` works its shape out itself", entry.kind),
            );
            return None;
        }
        return block::external_network(entry, &entry.kind.clone().into(), input, ctx);
    }
    if entry.block.is_some() && entry.kind != "Residual" {
        let span = entry.block.as_ref().map_or(entry.kind.span(), |b| b.span);
        ctx.errors.err(
            span,
            format!(
                "only `Residual` takes a block of layers in braces, not `{}`",
                entry.kind
            ),
        );
        return None;
    }
    if let Some(msg) = suggest::foreign_layer(entry) {
        ctx.errors.err(entry.kind.span(), msg);
        return None;
    }
    let name = entry.kind.to_string();
    let act = match name.as_str() {
        "Step" => Some(Act::Step),
        "Sigmoid" => Some(Act::Sigmoid),
        "Tanh" => Some(Act::Tanh),
        "Relu" => Some(Act::Relu),
        "Identity" => Some(Act::Identity),
        _ => None,
    };
    if let Some(act) = act {
        return layers::activation(entry, act, input, ctx);
    }
    match name.as_str() {
        "Dense" => layers::dense(entries, i, input, ctx),
        "Conv2d" => window::conv2d(entries, i, input, ctx),
        "MaxPool2d" => window::pool(entry, true, input, ctx),
        "AvgPool2d" => window::pool(entry, false, input, ctx),
        "GlobalAvgPool" => window::global_avg_pool(entry, input, ctx),
        "AdaptiveAvgPool2d" => window::adaptive_pool(entry, false, input, ctx),
        "AdaptiveMaxPool2d" => window::adaptive_pool(entry, true, input, ctx),
        "BatchNorm" => layers::batch_norm(entry, input, ctx),
        "Residual" => block::residual(entry, field, owner, input, ctx),
        "LeakyRelu" => layers::leaky_relu(entry, input, ctx),
        "Softmax" => layers::softmax(entry, input, ctx),
        "Dropout" => layers::dropout(entry, input, ctx),
        "Flatten" => layers::flatten(entry, input, ctx),
        "Custom" => block::custom(entry, input, ctx),
        _ => {
            if let Some(i) = network {
                let sig = &ctx.known[i];
                return block::network(entry, sig, input, ctx);
            }
            let networks: Vec<String> = ctx.known.iter().map(|n| n.name.clone()).collect();
            ctx.errors
                .err(entry.kind.span(), suggest::unknown_layer(&name, &networks));
            None
        }
    }
}

/// Check a list of layers fed `input` and infer every shape. `owner` names
/// the struct the list becomes (residual blocks inside it are named after
/// it). `None` when anything is in error.
fn list(owner: &Ident, entries: &[Entry], input: &Shape, ctx: &mut Ctx) -> Option<Vec<Layer>> {
    // Field names: the user's, or `_{index}` (PyTorch's index name); any clash is an error.
    // One error per clash, at the user's name, saying which layer had it
    // first (a proc macro cannot attach a note at a second place).
    let mut seen: Vec<(String, Span, usize)> = Vec::new();
    let mut clash = false;
    for (i, entry) in entries.iter().enumerate() {
        let (field, span) = match &entry.name {
            Some(n) => (n.to_string(), n.span()),
            None => (format!("_{i}"), entry.kind.span()),
        };
        if let Some((_, first_span, first)) = seen.iter().find(|(f, ..)| *f == field) {
            let layer = |j: usize| {
                let e = &entries[j];
                let name = e.name.as_ref().map_or(String::new(), |n| format!("{n}: "));
                format!("layer {j} (`{name}{}`)", args::display(e))
            };
            let (msg, at) = match (&entries[*first].name, &entry.name) {
                (Some(_), Some(_)) => (
                    format!("duplicate layer name `{field}`: {} already has it; every named layer needs its own name", layer(*first)),
                    span,
                ),
                (None, _) => (
                    format!("the name `{field}` clashes with the field `network!` gives the unnamed {}; pick another name", layer(*first)),
                    span,
                ),
                (Some(_), None) => (
                    format!("the name `{field}` clashes with the field `network!` gives the unnamed {}; pick another name", layer(i)),
                    *first_span,
                ),
            };
            ctx.errors.err(at, msg);
            clash = true;
        } else {
            seen.push((field, span, i));
        }
    }

    let mut shape = input.clone();
    let mut layers = Vec::new();
    let mut shapes_known = true;
    for (i, entry) in entries.iter().enumerate() {
        let (field, torch_name, named) = match &entry.name {
            Some(n) => (n.clone(), n.to_string(), true),
            None => (
                Ident::new(&format!("_{i}"), entry.kind.span()),
                i.to_string(),
                false,
            ),
        };
        if !shapes_known {
            // After an error the shapes are unknown, but each later layer's
            // arguments can still be checked, so the user sees every
            // mistake at once. While guessing, errors that depend on the
            // input shape are dropped, and so are const assertions.
            let (was, checks, hoisted) = (ctx.guessing, ctx.checks.len(), ctx.hoist.len());
            ctx.guessing = true;
            let start = ctx.errors.len();
            let _ = layer(entries, i, &field, owner, &Shape(vec![Dim::Known(1)]), ctx);
            ctx.errors.keep_first_since(start);
            ctx.guessing = was;
            ctx.checks.truncate(checks);
            ctx.hoist.truncate(hoisted);
            continue;
        }
        let start = ctx.errors.len();
        let step = layer(entries, i, &field, owner, &shape, ctx);
        if !matches!(entry.kind.to_string().as_str(), "Residual") {
            ctx.errors.keep_first_since(start);
        }
        let Some((kind, output, display)) = step else {
            shapes_known = false;
            continue;
        };
        layers.push(Layer {
            field,
            torch_name,
            kind,
            input: shape.clone(),
            output: output.clone(),
            display,
            named,
            span: entry.kind.span(),
        });
        shape = output;
    }
    (shapes_known && !clash).then_some(layers)
}

/// Check a parsed network and infer every shape. `known` holds the
/// networks declared before it in the same invocation, which it may use as
/// layers.
pub fn analyze(mut net: Network, known: &[NetSig]) -> syn::Result<Plan> {
    let mut errors = Errors::default();
    let companions = Companions::from_attrs(&net.name, &mut net.attrs, &mut errors);
    let mut ctx = Ctx {
        errors,
        checks: Vec::new(),
        known,
        vis: net.vis.clone(),
        derives: net
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("derive"))
            .cloned()
            .collect(),
        guessing: false,
        hoist: args::Hoist::new(&net.name),
    };

    if net.input.is_empty() || net.input.len() > 3 {
        ctx.errors.err(
            net.input_span,
            format!(
                "the input shape needs 1 to 3 dimensions (`[features]`, `[rows, cols]` or `[channels, height, width]`), found {}",
                net.input.len()
            ),
        );
    }
    let mut input_dims = Vec::new();
    for d in &net.input {
        match args::size(d, "an input dimension", false, &mut ctx) {
            Ok(d) => input_dims.push(d),
            Err(e) => ctx.errors.push(e),
        }
    }
    if net.entries.is_empty() {
        ctx.errors.err(
            net.body_span,
            format!(
                "`{}` has no layers; add at least one, e.g. `{{ Dense(10) }}`",
                net.name
            ),
        );
    }
    if let Some(e) = ctx.errors.take() {
        return Err(e);
    }
    let input = Shape(input_dims);
    let layers = list(&net.name, &net.entries, &input, &mut ctx);
    if let Some(e) = ctx.errors.take() {
        return Err(e);
    }
    let Some(layers) = layers else {
        return Err(syn::Error::new(net.name.span(), "the network has errors"));
    };
    Ok(Plan {
        attrs: net.attrs,
        vis: net.vis,
        name: net.name,
        input,
        layers,
        checks: ctx.checks,
        consts: ctx.hoist.items,
        companions,
    })
}

/// `tokens` with every span set to `span`: the arguments of a generated
/// call to a layer then point at the layer when their types do not match.
pub fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(g) = &tree {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tree = proc_macro2::TokenTree::Group(group);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(src: &str) -> syn::Result<Plan> {
        let input: crate::parse::Input = syn::parse_str(src)?;
        analyze(input.networks.into_iter().next().expect("one network"), &[])
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
        assert_eq!(suggest::edit_distance("Relux", "Relu"), 1);
        let e = plan("struct N: [4] { Sigmod }").err().unwrap().to_string();
        assert!(e.contains("did you mean `Sigmoid`"), "{e}");
    }
}
