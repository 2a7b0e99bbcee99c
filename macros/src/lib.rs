#![warn(missing_docs)]
//! The `network!` macro of [staticnn](https://docs.rs/staticnn). Use it
//! through the `staticnn` crate, which documents the DSL.
//!
//! The macro works in three stages: `parse` reads the DSL into spanned
//! syntax; `layers` checks every layer and infers every shape (all errors
//! come from here), one module per layer, on the shapes and errors of
//! `shape`; and `expand` writes the struct, its gradient and cache
//! structs, and its trait implementations, asking each checked layer what
//! it generates. The generated
//! code only calls into `staticnn`'s runtime; no kernel is generated.

extern crate proc_macro;

#[cfg(test)]
mod cost;
mod expand;
mod layers;
mod parse;
mod shape;

use proc_macro::TokenStream;

/// Declare a statically shaped network. See the `staticnn` crate for the
/// DSL and what is generated.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    match syn::parse(input) {
        Ok(input) => expand_input(input).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The whole expansion on `proc_macro2` tokens, so that tests can run it
/// outside the compiler.
fn expand_input(input: parse::Input) -> proc_macro2::TokenStream {
    let mut out = proc_macro2::TokenStream::new();
    // Networks declared earlier in the invocation can be used as layers
    // by later ones.
    let mut known = Vec::new();
    let names: Vec<String> = input.networks.iter().map(|n| n.name.to_string()).collect();
    for (i, net) in input.networks.into_iter().enumerate() {
        match layers::check::analyze(net, &known, &names[i + 1..]) {
            Ok(plan) => {
                out.extend(expand::expand(&plan));
                known.push(shape::NetSig::of(&plan));
            }
            Err(e) => out.extend(e.to_compile_error()),
        }
    }
    out
}
