//! Softmax over a flat vector of features.

use super::{LayerDef, Site};
use crate::shape::args::no_args;
use crate::shape::{Ctx, Generated, Layer, Shape, Step};
use proc_macro2::TokenStream;
use quote::quote;

pub const SOFTMAX: LayerDef = LayerDef::plain("Softmax", check);

struct Softmax;

fn check(site: &Site, input: &Shape, ctx: &mut Ctx) -> Step {
    let entry = site.entry();
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
    Some((Box::new(Softmax), input.clone(), "Softmax".into()))
}

impl Generated for Softmax {
    fn ty(&self, layer: &Layer) -> TokenStream {
        let n = layer.input.0[0].tokens();
        quote!(::staticnn::layers::Softmax<#n>)
    }

    fn init(&self, layer: &Layer) -> TokenStream {
        let ty = self.ty(layer);
        quote!(<#ty>::new())
    }

    fn head(&self) -> TokenStream {
        quote!(::staticnn::markers::EndsInSoftmax)
    }
}
