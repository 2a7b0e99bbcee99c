//! Networks used as layers: one declared earlier in the same `network!`,
//! whose shapes the macro knows, or one declared elsewhere, whose output
//! shape is written after `->` and checked by the types.

use crate::parse::Entry;
use crate::shape::args::size;
use crate::shape::{respan, same_shape, Backprop, Ctx, Generated, Layer, NetSig, Shape, Step};
use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

/// A network used as a layer.
struct Network {
    ty: syn::Path,
    /// Declared in another `network!`: its shapes are the ones the user
    /// wrote after `->`, checked by the types (see `Tensor::as_shape`).
    external: bool,
}

/// A network is used as a layer as it is: no arguments, no block. `false`
/// (with the error reported) otherwise.
fn used_as_is(entry: &Entry, ctx: &mut Ctx) -> bool {
    if entry.args_span.is_none() && entry.block.is_none() {
        return true;
    }
    let name = &entry.kind;
    ctx.errors.err(
        name.span(),
        format!(
            "the network `{name}` is used as a layer as it is: write `{name}` with no arguments"
        ),
    );
    false
}

/// The shape written after `->`.
pub fn declared_output(entry: &Entry, ctx: &mut Ctx) -> Option<Shape> {
    let (dims, span) = entry.output.as_ref()?;
    if dims.is_empty() || dims.len() > 3 {
        ctx.errors.err(
            *span,
            "an output shape needs 1 to 3 dimensions, e.g. `-> [2]`",
        );
        return None;
    }
    let mut out = Vec::new();
    for d in dims {
        match size(d, "an output dimension", false, ctx) {
            Ok(d) => out.push(d),
            Err(e) => {
                ctx.errors.push(e);
                return None;
            }
        }
    }
    Some(Shape(out))
}

/// A network declared in another `network!` block, used as a layer with
/// its output shape written out (`encoder: Encoder -> [2]`). The macro
/// cannot see that network, so rustc checks both shapes against the
/// network's `INPUT_SHAPE` and `OUTPUT_SHAPE` with const assertions at the
/// entry.
pub fn external(entry: &Entry, ty: &syn::Path, input: &Shape, ctx: &mut Ctx) -> Step {
    if !used_as_is(entry, ctx) {
        return None;
    }
    let output = declared_output(entry, ctx)?;
    let shown = quote!(#ty).to_string().replace(' ', "");
    let span = entry.kind.span();
    // Type checks, not const assertions, so that the one error names both
    // shapes (`staticnn::shape::check_output`).
    let (given, declared) = (input.ty(), output.ty());
    let real = |assoc: proc_macro2::TokenStream| quote!(<#ty<::staticnn::Cpu> as ::staticnn::Layer<::staticnn::Cpu>>::#assoc);
    let (real_in, real_out) = (real(quote!(Input)), real(quote!(Output)));
    ctx.hoist.item(respan(
        quote! {
            const _: () = ::staticnn::shape::check_input::<#real_in, #given>();
            const _: () = ::staticnn::shape::check_output::<#real_out, #declared>();
        },
        span,
    ));
    Some((
        Box::new(Network {
            ty: ty.clone(),
            external: true,
        }),
        output,
        shown,
    ))
}

/// A network declared earlier in the same invocation, used as a layer.
pub fn known(entry: &Entry, sig: &NetSig, input: &Shape, ctx: &mut Ctx) -> Step {
    if let Some(declared) = declared_output(entry, ctx) {
        let msg = format!("`{}` has outputs of shape {}", sig.name, sig.output.text());
        if !same_shape(&declared, &sig.output, &msg, entry.kind.span(), ctx) {
            ctx.shape_err(
                entry.kind.span(),
                format!(
                    "`{}` gives outputs of shape {}, not {}",
                    sig.name,
                    sig.output.text(),
                    declared.text()
                ),
            );
            return None;
        }
    }
    if !used_as_is(entry, ctx) {
        return None;
    }
    let msg = format!(
        "`{}` expects inputs of shape {}",
        sig.name,
        sig.input.text()
    );
    if !same_shape(&sig.input, input, &msg, entry.kind.span(), ctx) {
        if ctx.guessing {
            return None;
        }
        let hint = if sig.input.0.len() == 1 && input.0.len() > 1 {
            "; add `Flatten` before it"
        } else {
            ""
        };
        ctx.errors.err(
            entry.kind.span(),
            format!(
                "`{}` expects inputs of shape {} but gets {}{hint}",
                sig.name,
                sig.input.text(),
                input.text()
            ),
        );
        return None;
    }
    Some((
        Box::new(Network {
            ty: Ident::new(&sig.name, entry.kind.span()).into(),
            external: false,
        }),
        sig.output.clone(),
        sig.name.clone(),
    ))
}

impl Generated for Network {
    fn ty(&self, _: &Layer) -> TokenStream {
        let ty = &self.ty;
        quote!(#ty<B>)
    }

    fn init(&self, _: &Layer) -> TokenStream {
        let ty = &self.ty;
        quote!(#ty::init_with_rng(device, rng)?)
    }

    fn num_params(&self, _: &Layer) -> TokenStream {
        let ty = &self.ty;
        quote!(#ty::<B>::NUM_PARAMS)
    }

    fn head(&self) -> TokenStream {
        let ty = &self.ty;
        quote!(<#ty<B> as ::staticnn::Model<B>>::Head)
    }

    fn backprop(&self) -> Backprop {
        let ty = &self.ty;
        Backprop::Through(vec![quote!(<#ty<B> as ::staticnn::Model<B>>::Backprop)])
    }

    fn summary_rows(&self, layer: &Layer) -> TokenStream {
        let (name, field) = (&layer.torch_name, &layer.field);
        quote!(rows.extend(::staticnn::Model::summary(&self.#field).nested(#name));)
    }

    fn opaque(&self) -> bool {
        self.external
    }
}
