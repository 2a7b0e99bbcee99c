//! Code generation, one file per generated part. Everything generated names
//! the runtime by absolute path (`::staticnn::...`), so it works whatever
//! the user has imported.

mod inherent;
mod layer_impl;
mod structs;

use crate::shape::{Act, ConstCheck, Kind, Layer, Plan};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

pub fn expand(plan: &Plan) -> TokenStream {
    let checks = plan.checks.iter().map(const_check);
    let structs = structs::expand(plan);
    let layer_impl = layer_impl::expand(plan);
    let inherent = inherent::expand(plan);
    quote! {
        #(#checks)*
        #structs
        #layer_impl
        #inherent
    }
}

/// A compile-time assertion at the user's token, for sizes the macro cannot
/// see (paths to `const` items).
fn const_check(c: &ConstCheck) -> TokenStream {
    let (cond, msg) = (&c.cond, Literal::string(&c.message));
    quote_spanned! {c.span=>
        const _: () = ::core::assert!(#cond, #msg);
    }
}

fn grads_name(plan: &Plan) -> Ident {
    format_ident!("{}Grads", plan.name)
}

fn state_name(plan: &Plan) -> Ident {
    format_ident!("{}State", plan.name)
}

/// The runtime type of a layer, e.g. `Dense<B, 784, 128>`.
fn layer_ty(layer: &Layer) -> TokenStream {
    let shape = layer.input.ty();
    match &layer.kind {
        Kind::Dense { out, .. } => {
            let (i, o) = (layer.input.0[0].tokens(), out.tokens());
            quote!(::staticnn::layers::Dense<B, #i, #o>)
        }
        Kind::Act(act) => {
            let name = match act {
                Act::Step => quote!(Step),
                Act::Sigmoid => quote!(Sigmoid),
                Act::Tanh => quote!(Tanh),
                Act::Relu => quote!(Relu),
                Act::Identity => quote!(Identity),
            };
            quote!(::staticnn::layers::#name<#shape>)
        }
        Kind::LeakyRelu { .. } => quote!(::staticnn::layers::LeakyRelu<#shape>),
        Kind::Softmax => {
            let n = layer.input.0[0].tokens();
            quote!(::staticnn::layers::Softmax<#n>)
        }
        Kind::Dropout { .. } => quote!(::staticnn::layers::Dropout<#shape>),
        Kind::Flatten => {
            let n = layer.output.0[0].tokens();
            quote!(::staticnn::layers::Flatten<#shape, #n>)
        }
    }
}

/// The expression that builds a layer inside `init_with_rng`, where
/// `device` and `rng` are in scope.
fn layer_init(layer: &Layer) -> TokenStream {
    match &layer.kind {
        Kind::Dense { bias, init, .. } => {
            quote!(::staticnn::layers::Dense::init(device, rng, ::staticnn::Init::#init, #bias)?)
        }
        Kind::Act(_) | Kind::Softmax | Kind::Flatten => {
            let ty = layer_ty(layer);
            quote!(<#ty>::new())
        }
        Kind::LeakyRelu { slope } => quote!(::staticnn::layers::LeakyRelu::with_slope(#slope)),
        Kind::Dropout { p } => quote!(::staticnn::layers::Dropout::new(#p)?),
    }
}

/// The layer's parameter count as a const expression.
fn param_count(layer: &Layer) -> TokenStream {
    match &layer.kind {
        Kind::Dense { out, bias, .. } => {
            let (i, o) = (layer.input.0[0].expr(), out.expr());
            if *bias {
                quote!(#i * #o + #o)
            } else {
                quote!(#i * #o)
            }
        }
        _ => quote!(0),
    }
}
