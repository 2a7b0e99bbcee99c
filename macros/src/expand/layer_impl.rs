//! `impl Layer<B>`: straight-line forward and backward passes through the
//! runtime's layers, and the parameter visitors.
//!
//! Layer `i` keeps its buffers in field `s{i}` of the generated state
//! struct. Forward hands each layer a reference to the previous layer's
//! output; backward hands each layer its input (the previous layer's
//! output, still in that layer's state) and the next layer's input
//! gradient. The fields are disjoint, so the borrows check and nothing is
//! copied.

use super::{grads_name, layer_ty, state_name};
use crate::shape::{respan, Plan};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

pub fn expand(plan: &Plan) -> TokenStream {
    let (name, grads, state) = (&plan.name, grads_name(plan), state_name(plan));
    let n = plan.layers.len();
    let fields: Vec<_> = plan.layers.iter().map(|l| &l.field).collect();
    // Locals for building structs field by field; prefixed so that a layer
    // named `device` does not shadow the argument.
    let locals: Vec<_> = fields
        .iter()
        .map(|f| quote::format_ident!("__{}", f))
        .collect();
    let tys: Vec<_> = plan.layers.iter().map(layer_ty).collect();
    let states: Vec<_> = (0..n).map(|i| format_ident!("s{}", i)).collect();
    let input_ty = plan.input.ty();
    let output_ty = plan.layers[n - 1].output.ty();
    let l = quote!(::staticnn::Layer::<B>);

    // x -> a1 -> ... -> an, each a reference into a layer's state.
    let outs: Vec<_> = (1..=n).map(|i| format_ident!("a{}", i)).collect();
    let ins: Vec<TokenStream> = (0..n)
        .map(|i| {
            if i == 0 {
                quote!(x)
            } else {
                let p = &outs[i - 1];
                quote!(#p)
            }
        })
        .collect();
    let spans: Vec<_> = plan.layers.iter().map(|l| l.span).collect();
    // Values into and out of a network declared elsewhere go through
    // `Tensor::as_shape`, so that the shapes written after `->` reach no
    // type: when they are wrong, the const assertion at the layer is the
    // one error, not a mismatch in every generated call.
    let external: Vec<bool> = plan.layers.iter().map(|l| l.kind.opaque()).collect();
    // `value` seen as the shape `to`, where `yes`.
    let cast = |yes: bool, value: TokenStream, to: TokenStream| {
        if yes {
            quote!(::staticnn::Tensor::as_shape::<#to>(#value)?)
        } else {
            value
        }
    };
    // A layer's own shapes (the real ones of a network declared
    // elsewhere), and the ones the macro inferred for its place.
    let own_in: Vec<_> = tys
        .iter()
        .map(|t| quote!(<#t as ::staticnn::Layer<B>>::Input))
        .collect();
    let own_out: Vec<_> = tys
        .iter()
        .map(|t| quote!(<#t as ::staticnn::Layer<B>>::Output))
        .collect();
    let placed_in: Vec<_> = plan.layers.iter().map(|l| l.input.ty()).collect();
    let placed_out: Vec<_> = plan.layers.iter().map(|l| l.output.ty()).collect();
    let forward_steps = |method: TokenStream, ctx: TokenStream, this: TokenStream| {
        let steps = (0..n).map(|i| {
            let (out, f, s) = (&outs[i], fields[i], &states[i]);
            let input = cast(
                external[i],
                respan(ins[i].clone(), spans[i]),
                own_in[i].clone(),
            );
            let call = cast(
                external[i],
                quote!(#l::#method(#this self.#f, #input, &mut state.#s #ctx)?),
                placed_out[i].clone(),
            );
            quote_spanned!(spans[i]=> let #out = #call;)
        });
        quote!(#(#steps)*)
    };
    let infer_steps = forward_steps(quote!(infer), quote!(), quote!(&));
    let train_steps = forward_steps(quote!(forward_train), quote!(, ctx), quote!(&mut));
    let last = &outs[n - 1];
    let ret_last = quote_spanned!(spans[n - 1]=> Ok(#last));
    let ret_first = respan(quote!(Ok(d0)), spans[0]);
    let last_ty = &tys[n - 1];
    let last_state = &states[n - 1];
    let last_output = if external[n - 1] {
        quote!(::staticnn::Tensor::as_shape::<#output_ty>(<#last_ty as ::staticnn::Layer<B>>::output(&state.#last_state)?))
    } else {
        quote!(<#last_ty as ::staticnn::Layer<B>>::output(&state.#last_state))
    };

    // Backward, last layer first.
    let backward_steps = |params_only_first: bool| -> TokenStream {
        let steps = (0..n).rev().map(|i| {
            let (f, s) = (fields[i], &states[i]);
            let input = if i == 0 {
                cast(external[i], quote!(x), own_in[i].clone())
            } else {
                let (prev_ty, prev_state) = (&tys[i - 1], &states[i - 1]);
                let to = if external[i] { &own_in[i] } else { &placed_in[i] };
                cast(
                    external[i] || external[i - 1],
                    quote!(<#prev_ty as ::staticnn::Layer<B>>::output(&state.#prev_state)?),
                    to.clone(),
                )
            };
            let dout = if i == n - 1 {
                quote!(dy)
            } else {
                let d = format_ident!("d{}", i + 1);
                quote!(#d)
            };
            let dout = cast(external[i], dout, own_out[i].clone());
            let d = format_ident!("d{}", i);
            // Spanned at the layer, so that a type error in the call (a
            // network used as a layer with the wrong declared shape) points
            // at it.
            let span = plan.layers[i].span;
            let (input, dout) = (respan(input, span), respan(dout, span));
            if i == 0 && params_only_first {
                quote_spanned!(span=> #l::backward_params(&self.#f, #input, #dout, &mut state.#s, &mut grads.#f)?;)
            } else {
                let call = cast(
                    external[i],
                    quote!(#l::backward(&self.#f, #input, #dout, &mut state.#s, &mut grads.#f)?),
                    placed_in[i].clone(),
                );
                quote_spanned!(span=> let #d = #call;)
            }
        });
        quote!(#(#steps)*)
    };
    let backward = backward_steps(false);
    let backward_params = backward_steps(true);
    let prefixes: Vec<String> = plan
        .layers
        .iter()
        .map(|l| format!("{}.", l.torch_name))
        .collect();

    quote! {
        impl<B: ::staticnn::Backend> ::staticnn::Layer<B> for #name<B> {
            type Input = #input_ty;
            type Output = #output_ty;
            type State = #state<B>;
            type Grads = #grads<B>;

            fn infer<'s>(
                &self,
                x: &::staticnn::Tensor<B, #input_ty>,
                state: &'s mut #state<B>,
            ) -> ::staticnn::Result<&'s ::staticnn::Tensor<B, #output_ty>> {
                #infer_steps
                #ret_last
            }

            fn forward_train<'s>(
                &mut self,
                x: &::staticnn::Tensor<B, #input_ty>,
                state: &'s mut #state<B>,
                ctx: &mut ::staticnn::TrainCtx,
            ) -> ::staticnn::Result<&'s ::staticnn::Tensor<B, #output_ty>> {
                #train_steps
                #ret_last
            }

            fn output(state: &#state<B>) -> ::staticnn::Result<&::staticnn::Tensor<B, #output_ty>> {
                #last_output
            }

            fn backward<'s>(
                &self,
                x: &::staticnn::Tensor<B, #input_ty>,
                dy: &::staticnn::Tensor<B, #output_ty>,
                state: &'s mut #state<B>,
                grads: &mut #grads<B>,
            ) -> ::staticnn::Result<&'s ::staticnn::Tensor<B, #input_ty>> {
                #backward
                #ret_first
            }

            fn backward_params(
                &self,
                x: &::staticnn::Tensor<B, #input_ty>,
                dy: &::staticnn::Tensor<B, #output_ty>,
                state: &mut #state<B>,
                grads: &mut #grads<B>,
            ) -> ::staticnn::Result<()> {
                #backward_params
                Ok(())
            }

            fn num_params(&self) -> usize {
                0 #( + #l::num_params(&self.#fields) )*
            }

            fn zero_grads(&self, device: &B) -> ::staticnn::Result<#grads<B>> {
                // One statement per layer, not one struct literal of
                // fallible fields, which LLVM optimised in more than linear
                // time (macros/src/cost.rs).
                #( let #locals = #l::zero_grads(&self.#fields, device)?; )*
                Ok(#grads { #( #fields: #locals, )* })
            }

            fn visit_params(
                &self,
                prefix: &str,
                f: &mut ::staticnn::layers::ParamVisitor<'_, B>,
            ) -> ::staticnn::Result<()> {
                #( #l::visit_params(&self.#fields, &::std::format!("{}{}", prefix, #prefixes), f)?; )*
                Ok(())
            }

            fn visit_params_mut(
                &mut self,
                prefix: &str,
                f: &mut ::staticnn::layers::ParamVisitorMut<'_, B>,
            ) -> ::staticnn::Result<()> {
                #( #l::visit_params_mut(&mut self.#fields, &::std::format!("{}{}", prefix, #prefixes), f)?; )*
                Ok(())
            }

            fn visit_grads(
                &mut self,
                grads: &#grads<B>,
                f: &mut ::staticnn::layers::GradVisitor<'_, B>,
            ) -> ::staticnn::Result<()> {
                #( #l::visit_grads(&mut self.#fields, &grads.#fields, f)?; )*
                Ok(())
            }
        }
    }
}
