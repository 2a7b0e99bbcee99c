//! `impl Layer<B>`: straight-line forward and backward passes through the
//! runtime's layers, and the parameter visitors.

use super::{cache_name, grads_name};
use crate::shape::Plan;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub fn expand(plan: &Plan) -> TokenStream {
    let (name, grads, cache) = (&plan.name, grads_name(plan), cache_name(plan));
    let n = plan.layers.len();
    let fields: Vec<_> = plan.layers.iter().map(|l| &l.field).collect();
    let input_ty = plan.input.ty();
    let output_ty = plan.layers[n - 1].output.ty();
    let l = quote!(::staticnn::Layer::<B>);

    // Inference: x -> x1 -> ... -> xn.
    let xs: Vec<_> = (1..=n).map(|i| format_ident!("x{}", i)).collect();
    let x_in: Vec<TokenStream> = (0..n)
        .map(|i| {
            if i == 0 {
                quote!(x)
            } else {
                let p = &xs[i - 1];
                quote!(&#p)
            }
        })
        .collect();
    let last_x = &xs[n - 1];

    // Training: a1..a(n-1) are kept in the cache; the last output is returned.
    let outs: Vec<_> = (1..=n).map(|i| format_ident!("a{}", i)).collect();
    let caches: Vec<_> = (0..n).map(|i| format_ident!("c{}", i)).collect();
    let kept = &outs[..n - 1];
    let last_a = &outs[n - 1];
    let a_in: Vec<TokenStream> = (0..n)
        .map(|i| {
            if i == 0 {
                quote!(x)
            } else {
                let p = &outs[i - 1];
                quote!(&#p)
            }
        })
        .collect();

    // Backward, last layer first: each gets its input, output, output
    // gradient and cache from what the forward kept.
    let backward_steps = |params_only_first: bool| -> TokenStream {
        let steps = (0..n).rev().map(|i| {
            let f = fields[i];
            let c = &caches[i];
            let input = if i == 0 { quote!(x) } else { let a = &outs[i - 1]; quote!(&cache.#a) };
            let output = if i == n - 1 { quote!(y) } else { let a = &outs[i]; quote!(&cache.#a) };
            let dout = if i == n - 1 { quote!(dy) } else { let d = format_ident!("d{}", i + 1); quote!(&#d) };
            let d = format_ident!("d{}", i);
            if i == 0 && params_only_first {
                quote!(#l::backward_params(&self.#f, #input, #output, #dout, &cache.#c, &mut grads.#f)?;)
            } else {
                quote!(let #d = #l::backward(&self.#f, #input, #output, #dout, &cache.#c, &mut grads.#f)?;)
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
            type Cache = #cache<B>;
            type Grads = #grads<B>;

            fn forward(&self, x: &::staticnn::Tensor<B, #input_ty>) -> ::staticnn::Result<::staticnn::Tensor<B, #output_ty>> {
                #( let #xs = #l::forward(&self.#fields, #x_in)?; )*
                Ok(#last_x)
            }

            fn forward_train(
                &self,
                x: &::staticnn::Tensor<B, #input_ty>,
                ctx: &mut ::staticnn::TrainCtx,
            ) -> ::staticnn::Result<(::staticnn::Tensor<B, #output_ty>, #cache<B>)> {
                #( let (#outs, #caches) = #l::forward_train(&self.#fields, #a_in, ctx)?; )*
                Ok((#last_a, #cache { #(#kept,)* #(#caches,)* }))
            }

            fn backward(
                &self,
                x: &::staticnn::Tensor<B, #input_ty>,
                y: &::staticnn::Tensor<B, #output_ty>,
                dy: &::staticnn::Tensor<B, #output_ty>,
                cache: &#cache<B>,
                grads: &mut #grads<B>,
            ) -> ::staticnn::Result<::staticnn::Tensor<B, #input_ty>> {
                #backward
                Ok(d0)
            }

            fn backward_params(
                &self,
                x: &::staticnn::Tensor<B, #input_ty>,
                y: &::staticnn::Tensor<B, #output_ty>,
                dy: &::staticnn::Tensor<B, #output_ty>,
                cache: &#cache<B>,
                grads: &mut #grads<B>,
            ) -> ::staticnn::Result<()> {
                #backward_params
                Ok(())
            }

            fn num_params(&self) -> usize {
                0 #( + #l::num_params(&self.#fields) )*
            }

            fn zero_grads(&self, device: &B) -> ::staticnn::Result<#grads<B>> {
                Ok(#grads { #( #fields: #l::zero_grads(&self.#fields, device)?, )* })
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
