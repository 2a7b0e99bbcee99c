//! BatchNorm: batch normalisation over the features of flat inputs or
//! the channels of images (PyTorch's `BatchNorm1d` and `BatchNorm2d`).

use super::{LayerDef, Site};
use crate::parse::Entry;
use crate::shape::args::{
    check_named, display, max_positional, named, quoted_list, ranged_float, Range,
};
use crate::shape::{Ctx, Generated, Layer, Shape, Step};
use proc_macro2::TokenStream;
use quote::quote;

pub const BATCH_NORM: LayerDef = LayerDef {
    name: "BatchNorm",
    aliases: &[
        ("BatchNorm1d", "PyTorch's"),
        ("BatchNorm2d", "PyTorch's"),
        ("BatchNormalization", "Keras'"),
    ],
    check,
    foreign,
    transparent: true,
    wants_he: false,
};

struct BatchNorm {
    momentum: TokenStream,
    eps: TokenStream,
}

fn check(site: &Site, input: &Shape, ctx: &mut Ctx) -> Step {
    let entry = site.entry();
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
    let display = display(entry);
    Some((
        Box::new(BatchNorm {
            momentum: momentum.0,
            eps: eps.0,
        }),
        input.clone(),
        display,
    ))
}

/// PyTorch's `BatchNorm2d(num_features)`: the channels are inferred.
fn foreign(entry: &Entry, _alias: bool) -> Option<(String, bool)> {
    let w = super::suggest::Written::of(entry);
    if w.args.is_empty() && w.named("num_features").is_none() {
        return None;
    }
    let o = w.options(&[("momentum", "momentum"), ("eps", "eps")]);
    let o = if o.is_empty() {
        String::new()
    } else {
        format!("({})", &o[2..])
    };
    Some((format!("BatchNorm{o}"), true))
}

impl Generated for BatchNorm {
    fn ty(&self, layer: &Layer) -> TokenStream {
        let shape = layer.input.ty();
        quote!(::staticnn::layers::BatchNorm<B, #shape>)
    }

    fn init(&self, _: &Layer) -> TokenStream {
        let (momentum, eps) = (&self.momentum, &self.eps);
        quote!(::staticnn::layers::BatchNorm::new(device, #momentum, #eps)?)
    }

    fn num_params(&self, layer: &Layer) -> TokenStream {
        let c = layer.input.0[0].expr();
        quote!(2 * #c)
    }
}
