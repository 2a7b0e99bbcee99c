//! `Custom(T)`: a layer of the user's own, made by the runtime's
//! `layers::Build` for its input shape and held in a `layers::Placed`.

use super::{LayerDef, Site};
use crate::shape::args::{args_span, check_named};
use crate::shape::{Ctx, Generated, Layer, Shape, Step};
use proc_macro2::TokenStream;
use quote::quote;

pub const CUSTOM: LayerDef = LayerDef::plain("Custom", check);

/// A layer of the user's own, built through `staticnn::layers::Build` for
/// its input shape.
struct Custom {
    ty: syn::Path,
    /// Whether its output shape was written after `->`.
    declared: bool,
}

/// `Custom(Gelu)`: a layer of the user's own, which the runtime's `Build`
/// makes for its input shape. The macro cannot see its output shape: it
/// is the one written after `->`, or the input's, and the bounds of
/// `Placed::declared` (or `same`), spanned at the type, hold the layer to
/// it, naming both shapes.
fn check(site: &Site, input: &Shape, ctx: &mut Ctx) -> Step {
    let entry = site.entry();
    let usage = "Custom takes the type of a layer of your own, e.g. `Custom(Gelu)`, and `-> [..]` after it when the layer changes the shape";
    check_named(entry, &[], &mut ctx.errors);
    let ty = match entry.args.as_slice() {
        [syn::Expr::Path(p)] if p.qself.is_none() => p.path.clone(),
        [] => {
            ctx.errors.err(args_span(entry), usage);
            return None;
        }
        [other, ..] => {
            ctx.errors.err(syn::spanned::Spanned::span(other), usage);
            return None;
        }
    };
    if entry.block.is_some() {
        ctx.errors.err(entry.kind.span(), usage);
        return None;
    }
    let output = match &entry.output {
        Some(_) => super::network::declared_output(entry, ctx)?,
        None => input.clone(),
    };
    let shown = quote!(#ty).to_string().replace(' ', "");
    let declared = entry.output.is_some();
    Some((
        Box::new(Custom { ty, declared }),
        output,
        format!("Custom({shown})"),
    ))
}

impl Custom {
    /// `Placed::<..>::declared()` (or `same()`): the layer's parameter
    /// count and how to make it, from one call spanned at the user's type,
    /// so that a type that cannot go there is one error there.
    fn making(&self, layer: &Layer) -> TokenStream {
        let (ty, input, output) = (&self.ty, layer.input.ty(), layer.output.ty());
        let how = if self.declared {
            quote!(declared)
        } else {
            quote!(same)
        };
        crate::shape::respan(
            quote!(::staticnn::layers::Placed::<B, #ty, #input, #output>::#how()),
            syn::spanned::Spanned::span(ty),
        )
    }
}

impl Generated for Custom {
    fn ty(&self, layer: &Layer) -> TokenStream {
        let (ty, input, output) = (&self.ty, layer.input.ty(), layer.output.ty());
        quote!(::staticnn::layers::Placed<B, #ty, #input, #output>)
    }

    fn init(&self, layer: &Layer) -> TokenStream {
        let making = self.making(layer);
        quote!((#making.make)(device, rng)?)
    }

    fn num_params(&self, layer: &Layer) -> TokenStream {
        let making = self.making(layer);
        quote!(#making.num_params)
    }
}
