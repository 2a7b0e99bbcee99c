//! What the checks of every layer share: dimensions and shapes (known to
//! the macro, or const expressions that rustc evaluates), a checked layer
//! and network, the errors and const assertions collected on the way,
//! and [`Generated`], what each layer kind (in `crate::layers`) writes.
//!
//! Sizes written as literals are checked by the macro. Sizes written as
//! paths to `const` items (or other const expressions) are carried as
//! expressions; for those the expansion emits `const` assertions, spanned
//! at the user's token, that rustc evaluates.

pub mod args;

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

/// What a checked layer writes into the expansion. Each layer kind in
/// `crate::layers` implements it next to its checks, so that the
/// expansion has no knowledge of any one layer.
pub trait Generated {
    /// The runtime type of `layer`, e.g. `Dense<B, 784, 128>`.
    fn ty(&self, layer: &Layer) -> TokenStream;

    /// The expression that builds it inside `init_with_rng`, where
    /// `device` and `rng` are in scope.
    fn init(&self, layer: &Layer) -> TokenStream;

    /// Its parameter count as a const expression.
    fn num_params(&self, layer: &Layer) -> TokenStream {
        let _ = layer;
        quote!(0)
    }

    /// What it produces as a network's last layer (a
    /// `staticnn::markers` head).
    fn head(&self) -> TokenStream {
        quote!(::staticnn::markers::EndsInOther)
    }

    /// Whether a gradient flows through it.
    fn backprop(&self) -> Backprop {
        Backprop::Flows
    }

    /// Networks of its own that the expansion writes too (a residual
    /// block's body and shortcut).
    fn plans(&self) -> Vec<&Plan> {
        Vec::new()
    }

    /// Code that pushes the rows of its insides onto `rows` in
    /// `summary()`, after its own.
    fn summary_rows(&self, layer: &Layer) -> TokenStream {
        let _ = layer;
        quote!()
    }

    /// Whether its shapes are ones the macro was told rather than saw (a
    /// network declared elsewhere): values into and out of it then pass
    /// through `Tensor::as_shape`.
    fn opaque(&self) -> bool {
        false
    }
}

/// Whether a gradient flows through a layer.
pub enum Backprop {
    Flows,
    /// Never (`Step`).
    Blocked,
    /// As through each of these networks (`staticnn::Model` types).
    Through(Vec<TokenStream>),
}

/// A checked layer kind.
pub type Kind = Box<dyn Generated>;

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
    pub fn from_attrs(network: &Ident, attrs: &mut Vec<Attribute>, errors: &mut Errors) -> Self {
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
    /// The networks declared after it in the same invocation, which it
    /// cannot use (their shapes are not known yet).
    pub later: &'a [String],
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

/// Whether two shapes are equal: `false` when the macro can see they
/// differ; when they hold const expressions, a const assertion (with
/// `message`) decides and this says `true`.
pub fn same_shape(
    a: &Shape,
    b: &Shape,
    message: &str,
    span: proc_macro2::Span,
    ctx: &mut Ctx,
) -> bool {
    if a.0.len() != b.0.len() {
        return false;
    }
    let mut pending = Vec::new();
    for (x, y) in a.0.iter().zip(&b.0) {
        match (x, y) {
            (Dim::Known(x), Dim::Known(y)) => {
                if x != y {
                    return false;
                }
            }
            _ => {
                let (xe, ye) = (x.expr(), y.expr());
                pending.push(ConstCheck {
                    cond: quote!(#xe == #ye),
                    message: message.to_string(),
                    span,
                });
            }
        }
    }
    ctx.checks.extend(pending);
    true
}
