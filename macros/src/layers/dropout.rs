//! Dropout: zero a fraction of values in training, scale the rest.

use super::{LayerDef, Site};
use crate::shape::args::{args_span, ranged_float, single_arg, Range};
use crate::shape::{Ctx, Generated, Layer, Shape, Step};
use proc_macro2::TokenStream;
use quote::quote;

pub const DROPOUT: LayerDef = LayerDef {
    transparent: true,
    ..LayerDef::plain("Dropout", check)
};

struct Dropout {
    p: TokenStream,
}

fn check(site: &Site, input: &Shape, ctx: &mut Ctx) -> Step {
    let entry = site.entry();
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
        Box::new(Dropout { p }),
        input.clone(),
        format!("Dropout({shown})"),
    ))
}

impl Generated for Dropout {
    fn ty(&self, layer: &Layer) -> TokenStream {
        let shape = layer.input.ty();
        quote!(::staticnn::layers::Dropout<#shape>)
    }

    fn init(&self, _: &Layer) -> TokenStream {
        let p = &self.p;
        quote!(::staticnn::layers::Dropout::new(#p)?)
    }
}
