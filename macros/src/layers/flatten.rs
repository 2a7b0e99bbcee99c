//! Flatten: each sample as a flat vector.

use super::{LayerDef, Site};
use crate::shape::args::no_args;
use crate::shape::{Ctx, Generated, Layer, Shape, Step};
use proc_macro2::TokenStream;
use quote::quote;

pub const FLATTEN: LayerDef = LayerDef::plain("Flatten", check);

struct Flatten;

fn check(site: &Site, input: &Shape, ctx: &mut Ctx) -> Step {
    let entry = site.entry();
    no_args(entry, &mut ctx.errors);
    Some((
        Box::new(Flatten),
        Shape(vec![input.size()]),
        "Flatten".into(),
    ))
}

impl Generated for Flatten {
    fn ty(&self, layer: &Layer) -> TokenStream {
        let (shape, n) = (layer.input.ty(), layer.output.0[0].tokens());
        quote!(::staticnn::layers::Flatten<#shape, #n>)
    }

    fn init(&self, layer: &Layer) -> TokenStream {
        let ty = self.ty(layer);
        quote!(<#ty>::new())
    }
}
