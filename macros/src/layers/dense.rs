//! Dense: a fully connected layer on flat features (PyTorch's `Linear`,
//! Keras' `Dense`).

use super::weights::weight_options;
use super::{LayerDef, Site};
use crate::parse::Entry;
use crate::shape::args::{args_span, check_named, size};
use crate::shape::{Ctx, Dim, Generated, Layer, Shape, Step};
use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::Ident;

pub const DENSE: LayerDef = LayerDef {
    name: "Dense",
    aliases: &[
        ("Linear", "PyTorch's"),
        ("FullyConnected", "another framework's"),
    ],
    check,
    foreign,
    transparent: false,
    wants_he: false,
};

struct Dense {
    out: Dim,
    bias: bool,
    init: Ident,
}

fn check(site: &Site, input: &Shape, ctx: &mut Ctx) -> Step {
    let (entries, i, entry) = (site.entries, site.index, site.entry());
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
        Box::new(Dense {
            out: out.clone(),
            bias,
            init,
        }),
        Shape(vec![out]),
        display,
    ))
}

/// PyTorch's `Linear(in_features, out_features)` and `Dense(in, out)`;
/// Keras' `Dense(units)`.
fn foreign(entry: &Entry, alias: bool) -> Option<(String, bool)> {
    let w = super::suggest::Written::of(entry);
    let (out, inferred) = match w.args.as_slice() {
        [_, out] => (out.clone(), true),
        [out] if alias => (out.clone(), false),
        [] => (
            w.named("out_features").or_else(|| w.named("units"))?,
            w.named("in_features").is_some(),
        ),
        _ => return None,
    };
    let bias = w.options(&[("bias", "bias"), ("use_bias", "bias")]);
    Some((format!("Dense({out}{bias})"), inferred))
}

impl Generated for Dense {
    fn ty(&self, layer: &Layer) -> TokenStream {
        let (i, o) = (layer.input.0[0].tokens(), self.out.tokens());
        quote!(::staticnn::layers::Dense<B, #i, #o>)
    }

    fn init(&self, _: &Layer) -> TokenStream {
        let (init, bias) = (&self.init, self.bias);
        quote!(::staticnn::layers::Dense::init(device, rng, ::staticnn::Init::#init, #bias)?)
    }

    fn num_params(&self, layer: &Layer) -> TokenStream {
        let (i, o) = (layer.input.0[0].expr(), self.out.expr());
        if self.bias {
            quote!(#i * #o + #o)
        } else {
            quote!(#i * #o)
        }
    }
}
