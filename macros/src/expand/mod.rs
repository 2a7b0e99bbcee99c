//! Code generation, one file per generated part. Everything generated names
//! the runtime by absolute path (`::staticnn::...`), so it works whatever
//! the user has imported.

mod inherent;
mod layer_impl;
mod structs;

use crate::shape::{Layer, Plan};
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
    let blocks = plan.layers.iter().flat_map(|l| l.kind.plans()).map(expand);
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
    layer.kind.ty(layer)
}

/// The expression that builds a layer inside `init_with_rng`, where
/// `device` and `rng` are in scope.
fn layer_init(layer: &Layer) -> TokenStream {
    layer.kind.init(layer)
}

/// The layer's parameter count as a const expression.
fn param_count(layer: &Layer) -> TokenStream {
    layer.kind.num_params(layer)
}
