//! Code generation, one file per generated part. Everything generated names
//! the runtime by absolute path (`::staticnn::...`), so it works whatever
//! the user has imported.

mod inherent;
mod layer_impl;
mod structs;

use crate::shape::{Act, Dim, Kind, Layer, Plan};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

pub fn expand(plan: &Plan) -> TokenStream {
    let checks = const_checks(plan);
    let consts = &plan.consts;
    let structs = structs::expand(plan);
    let layer_impl = layer_impl::expand(plan);
    let inherent = inherent::expand(plan);
    // Residual blocks' bodies and shortcuts are networks of their own.
    let blocks = plan.layers.iter().filter_map(|l| match &l.kind {
        Kind::Residual { body, shortcut } => {
            let body = expand(body);
            let shortcut = shortcut.as_ref().map(|(_, p)| expand(p));
            Some(quote!(#body #shortcut))
        }
        _ => None,
    });
    quote! {
        #(#consts)*
        #checks
        #structs
        #layer_impl
        #inherent
        #(#blocks)*
    }
}

/// The compile-time assertions at the user's tokens, for sizes the macro
/// cannot see (paths to `const` items). Each holds only if every one
/// before it held: a const kernel too large for its input makes the next
/// layers' sizes meaningless, and their assertions would fail too. So the
/// first mistake is the one error.
fn const_checks(plan: &Plan) -> TokenStream {
    let mut out = TokenStream::new();
    let mut all_so_far: Option<Ident> = None;
    for (i, c) in plan.checks.iter().enumerate() {
        let cond = &c.cond;
        // The message is `assert!`'s format string.
        let msg = Literal::string(&c.message.replace('{', "{{").replace('}', "}}"));
        let (guard, and) = match &all_so_far {
            Some(prev) => (quote!(!#prev ||), quote!(#prev &&)),
            None => (quote!(), quote!()),
        };
        out.extend(quote_spanned! {c.span=>
            const _: () = ::core::assert!(#guard #cond, #msg);
        });
        let ok = format_ident!("__STATICNN_{}_OK_{}", plan.name, i);
        out.extend(quote! {
            #[allow(non_upper_case_globals)]
            const #ok: bool = #and #cond;
        });
        all_so_far = Some(ok);
    }
    out
}

fn grads_name(plan: &Plan) -> Ident {
    plan.companions.grads.clone()
}

fn state_name(plan: &Plan) -> Ident {
    plan.companions.state.clone()
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
        Kind::Conv2d { win, .. } => {
            let out = layer.output.ty();
            let (kh, kw) = (win.kernel.0.tokens(), win.kernel.1.tokens());
            quote!(::staticnn::layers::Conv2d<B, #shape, #out, #kh, #kw>)
        }
        Kind::Pool { max, .. } => {
            let out = layer.output.ty();
            if *max {
                quote!(::staticnn::layers::MaxPool2d<#shape, #out>)
            } else {
                quote!(::staticnn::layers::AvgPool2d<#shape, #out>)
            }
        }
        Kind::GlobalAvgPool => quote!(::staticnn::layers::GlobalAvgPool<#shape>),
        Kind::BatchNorm { .. } => quote!(::staticnn::layers::BatchNorm<B, #shape>),
        Kind::Residual { body, shortcut } => {
            let body = &body.name;
            let shortcut = match shortcut {
                Some((_, p)) => {
                    let name = &p.name;
                    quote!(#name<B>)
                }
                None => quote!(::staticnn::layers::Identity<#shape>),
            };
            quote!(::staticnn::layers::Residual<#body<B>, #shortcut>)
        }
        Kind::Network { ty, .. } => quote!(#ty<B>),
        // At the user's token: where the type lacks a `Build` for this
        // shape, every use gives the same error there, shown once.
        Kind::Custom { ty, .. } => {
            let out = layer.output.ty();
            quote!(::staticnn::layers::Placed<B, #ty, #shape, #out>)
        }
    }
}

/// `(rows, cols)` as a tuple of `usize` expressions.
fn pair((a, b): &(Dim, Dim)) -> TokenStream {
    let (a, b) = (a.expr(), b.expr());
    quote!((#a, #b))
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
        Kind::Conv2d {
            win, bias, init, ..
        } => {
            let (stride, padding) = (pair(&win.stride), pair(&win.padding));
            quote!(::staticnn::layers::Conv2d::init(
                device, rng, ::staticnn::Init::#init, #bias, #stride, #padding
            )?)
        }
        Kind::Pool { win, .. } => {
            let ty = layer_ty(layer);
            let (kernel, stride, padding) =
                (pair(&win.kernel), pair(&win.stride), pair(&win.padding));
            quote!(<#ty>::new(::staticnn::layers::PoolWindow {
                kernel: #kernel, stride: #stride, padding: #padding,
            })?)
        }
        Kind::GlobalAvgPool => {
            let ty = layer_ty(layer);
            quote!(<#ty>::new())
        }
        Kind::BatchNorm { momentum, eps } => {
            quote!(::staticnn::layers::BatchNorm::new(device, #momentum, #eps)?)
        }
        Kind::Residual { body, shortcut } => {
            let body = &body.name;
            let (short, name) = match shortcut {
                Some((name, p)) => {
                    let ty = &p.name;
                    (quote!(#ty::init_with_rng(device, rng)?), name.as_str())
                }
                None => {
                    let shape = layer.input.ty();
                    (
                        quote!(::staticnn::layers::Identity::<#shape>::new()),
                        "shortcut",
                    )
                }
            };
            quote!(::staticnn::layers::Residual::new(#body::init_with_rng(device, rng)?, #short, #name))
        }
        Kind::Network { ty, .. } => quote!(#ty::init_with_rng(device, rng)?),
        Kind::Custom { .. } => {
            let making = making(layer);
            quote!((#making.make)(device, rng)?)
        }
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
        Kind::Conv2d { out, win, bias, .. } => {
            let (c, o) = (layer.input.0[0].expr(), out.expr());
            let (kh, kw) = (win.kernel.0.expr(), win.kernel.1.expr());
            let b = if *bias { quote!(+ #o) } else { quote!() };
            quote!(#o * #c * #kh * #kw #b)
        }
        Kind::BatchNorm { .. } => {
            let c = layer.input.0[0].expr();
            quote!(2 * #c)
        }
        Kind::Residual { body, shortcut } => {
            let body = &body.name;
            let short = shortcut.as_ref().map(|(_, p)| {
                let ty = &p.name;
                quote!(+ #ty::<B>::NUM_PARAMS)
            });
            quote!(#body::<B>::NUM_PARAMS #short)
        }
        Kind::Network { ty, .. } => quote!(#ty::<B>::NUM_PARAMS),
        Kind::Custom { .. } => {
            let making = making(layer);
            quote!(#making.num_params)
        }
        _ => quote!(0),
    }
}

/// `Placed::<..>::declared()` (or `same()`) for a layer of the user's own:
/// its parameter count and how to make it, from one call spanned at the
/// user's type, so that a type that cannot go there is one error there.
fn making(layer: &Layer) -> TokenStream {
    let Kind::Custom { ty, declared } = &layer.kind else {
        return quote!();
    };
    let (input, output) = (layer.input.ty(), layer.output.ty());
    let how = if *declared {
        quote!(declared)
    } else {
        quote!(same)
    };
    crate::shape::respan(
        quote!(::staticnn::layers::Placed::<B, #ty, #input, #output>::#how()),
        syn::spanned::Spanned::span(ty),
    )
}
