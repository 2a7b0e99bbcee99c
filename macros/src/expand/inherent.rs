//! Inherent items (shape constants, `init`, `forward`, `to_device`) and the
//! `Model` implementation (`device`, `summary`).

use super::{layer_init, param_count};
use crate::shape::{Backprop, Layer, Plan};
use proc_macro2::TokenStream;
use quote::quote;

pub fn expand(plan: &Plan) -> TokenStream {
    let name = &plan.name;
    let n = plan.layers.len();
    let fields: Vec<_> = plan.layers.iter().map(|l| &l.field).collect();
    let inits = plan.layers.iter().map(layer_init);
    // Prefixed, so that a layer named `device` or `rng` does not shadow
    // the arguments.
    let locals: Vec<_> = fields
        .iter()
        .map(|f| quote::format_ident!("__{}", f))
        .collect();
    let counts = plan.layers.iter().map(param_count);
    let input_ty = plan.input.ty();
    let output = &plan.layers[n - 1].output;
    let output_ty = output.ty();
    let (input_dims, output_dims) = (plan.input.dims_expr(), output.dims_expr());
    let rows = plan.layers.iter().map(summary_rows);
    let name_str = name.to_string();
    let l = quote!(::staticnn::Layer::<B>);
    let head = plan.layers[n - 1].kind.head();
    let backprop = backprop(plan);

    quote! {
        impl<B: ::staticnn::Backend> #name<B> {
            /// Shape of one input sample.
            pub const INPUT_SHAPE: &'static [usize] = #input_dims;
            /// Shape of one output sample.
            pub const OUTPUT_SHAPE: &'static [usize] = #output_dims;
            /// Number of learnable values.
            pub const NUM_PARAMS: usize = 0 #( + #counts )*;

            /// A network on `device` with weights drawn from a generator
            /// seeded by `seed` (He initialisation before ReLU-family
            /// activations, Glorot otherwise; biases zero).
            pub fn init(device: &B, seed: u64) -> ::staticnn::Result<Self> {
                Self::init_with_rng(device, &mut ::staticnn::Rng::new(seed))
            }

            /// Like `init`, drawing from `rng` (for networks nested in
            /// others).
            pub fn init_with_rng(device: &B, rng: &mut ::staticnn::Rng) -> ::staticnn::Result<Self> {
                // One statement per layer, not one struct literal: a
                // literal of hundreds of fallible fields was the slowest
                // function in the whole crate for LLVM to optimise.
                #( let #locals = #inits; )*
                Ok(#name { #( #fields: #locals, )* __device: device.clone() })
            }

            /// Inference on a batch: dropout off, nothing kept for training.
            ///
            /// Generic over the argument only for the error message: a
            /// tensor of the wrong shape or device fails to satisfy
            /// `BatchFor`, whose message names both shapes and the fix.
            pub fn forward<X>(
                &self,
                x: &X,
            ) -> ::staticnn::Result<::staticnn::Tensor<B, #output_ty>>
            where
                X: ::staticnn::markers::BatchFor<B, #input_ty> + ?::core::marker::Sized,
            {
                #l::forward(self, x.tensor())
            }

            /// [`Layer::infer`](::staticnn::Layer::infer), with the message
            /// of `forward` for a batch of the wrong shape or device.
            pub fn infer<'s, X>(
                &self,
                x: &X,
                state: &'s mut <Self as #l>::State,
            ) -> ::staticnn::Result<&'s ::staticnn::Tensor<B, #output_ty>>
            where
                X: ::staticnn::markers::BatchFor<B, #input_ty> + ?::core::marker::Sized,
            {
                #l::infer(self, x.tensor(), state)
            }

            /// [`Layer::backward`](::staticnn::Layer::backward), with one
            /// message naming the expected and given shapes when `x` or the
            /// output gradient `dy` has the wrong shape or device.
            pub fn backward<'s, X, Dy>(
                &self,
                x: &X,
                dy: &Dy,
                state: &'s mut <Self as #l>::State,
                grads: &mut <Self as #l>::Grads,
            ) -> ::staticnn::Result<&'s ::staticnn::Tensor<B, #input_ty>>
            where
                X: ::staticnn::markers::BatchFor<B, #input_ty> + ?::core::marker::Sized,
                Dy: ::staticnn::markers::BatchFor<B, #output_ty> + ?::core::marker::Sized,
            {
                #l::backward(self, x.tensor(), dy.tensor(), state, grads)
            }

            /// A copy of this network on another device.
            pub fn to_device<D: ::staticnn::Backend>(&self, device: &D) -> ::staticnn::Result<#name<D>> {
                let mut out = #name::<D>::init(device, 0)?;
                ::staticnn::io::copy_params(self, &mut out)?;
                Ok(out)
            }
        }

        impl<B: ::staticnn::Backend> ::staticnn::Model<B> for #name<B> {
            type Head = #head;
            type Backprop = #backprop;

            fn device(&self) -> &B {
                &self.__device
            }

            fn summary(&self) -> ::staticnn::Summary {
                let mut rows = ::std::vec::Vec::new();
                #( #rows )*
                ::staticnn::Summary {
                    name: ::std::string::String::from(#name_str),
                    input: ::std::vec::Vec::from(Self::INPUT_SHAPE),
                    rows,
                }
            }
        }
    }
}

/// Code that pushes a layer's `summary()` rows onto `rows`: its own, then
/// for a residual block or nested network the rows inside it.
fn summary_rows(layer: &Layer) -> TokenStream {
    let (name, display, field) = (&layer.torch_name, &layer.display, &layer.field);
    let out_dims = layer.output.dims_expr();
    let inner = layer.kind.summary_rows(layer);
    quote! {
        ::staticnn::Summary::push_row(
            &mut rows,
            #name,
            #display,
            #out_dims,
            ::staticnn::Layer::<B>::num_params(&self.#field),
        );
        #inner
    }
}

/// Whether a gradient flows through every layer: not through `Step`, nor
/// through a block or nested network that holds one.
fn backprop(plan: &Plan) -> TokenStream {
    let m = quote!(::staticnn::markers);
    let mut parts = Vec::new();
    for layer in &plan.layers {
        match layer.kind.backprop() {
            Backprop::Blocked => return quote!(#m::ThroughStep),
            Backprop::Through(through) => parts.extend(through),
            Backprop::Flows => {}
        }
    }
    parts.into_iter().fold(
        quote!(#m::Differentiable),
        |acc, part| quote!(<#acc as #m::And<#part>>::Out),
    )
}
