//! Pointwise activations: Step, Sigmoid, Tanh, Relu, Identity, and
//! LeakyRelu with its slope.

use super::{LayerDef, Site};
use crate::parse::Entry;
use crate::shape::args::{expr_text, float_arg, no_args, single_arg};
use crate::shape::{Backprop, Ctx, Generated, Layer, Shape, Step};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub const STEP: LayerDef = LayerDef {
    aliases: &[("Heaviside", "another framework's")],
    ..LayerDef::plain("Step", activation)
};
pub const SIGMOID: LayerDef = LayerDef {
    aliases: &[("Logistic", "another framework's")],
    ..LayerDef::plain("Sigmoid", activation)
};
pub const TANH: LayerDef = LayerDef::plain("Tanh", activation);
pub const RELU: LayerDef = LayerDef {
    aliases: &[("ReLU", "PyTorch's")],
    wants_he: true,
    ..LayerDef::plain("Relu", activation)
};
pub const IDENTITY: LayerDef = LayerDef::plain("Identity", activation);
pub const LEAKY_RELU: LayerDef = LayerDef {
    name: "LeakyRelu",
    aliases: &[("LeakyReLU", "PyTorch's")],
    check: leaky_relu,
    foreign,
    transparent: false,
    wants_he: true,
};

/// An activation without arguments, by its runtime name (`Relu`).
struct Act(&'static str);

struct LeakyRelu {
    slope: TokenStream,
}

fn activation(site: &Site, input: &Shape, ctx: &mut Ctx) -> Step {
    let entry = site.entry();
    no_args(entry, &mut ctx.errors);
    let def = super::find(&entry.kind.to_string())?;
    Some((
        Box::new(Act(def.name)),
        input.clone(),
        entry.kind.to_string(),
    ))
}

fn leaky_relu(site: &Site, input: &Shape, ctx: &mut Ctx) -> Step {
    let entry = site.entry();
    let (shown, slope) = match single_arg(entry, "slope", &mut ctx.errors) {
        None => ("0.01".to_string(), quote!(0.01)),
        Some(e) => match float_arg(e, "LeakyRelu's slope", &mut ctx.hoist) {
            Ok((value, tokens)) => (
                value.map_or_else(|| expr_text(e), |v| v.to_string()),
                tokens,
            ),
            Err(e) => {
                ctx.errors.push(e);
                return None;
            }
        },
    };
    Some((
        Box::new(LeakyRelu { slope }),
        input.clone(),
        format!("LeakyRelu({shown})"),
    ))
}

/// PyTorch's `LeakyReLU(negative_slope = s)`.
fn foreign(entry: &Entry, _alias: bool) -> Option<(String, bool)> {
    let w = super::suggest::Written::of(entry);
    Some((format!("LeakyRelu({})", w.named("negative_slope")?), false))
}

impl Generated for Act {
    fn ty(&self, layer: &Layer) -> TokenStream {
        let (name, shape) = (format_ident!("{}", self.0), layer.input.ty());
        quote!(::staticnn::layers::#name<#shape>)
    }

    fn init(&self, layer: &Layer) -> TokenStream {
        let ty = self.ty(layer);
        quote!(<#ty>::new())
    }

    fn head(&self) -> TokenStream {
        if self.0 == "Sigmoid" {
            quote!(::staticnn::markers::EndsInSigmoid)
        } else {
            quote!(::staticnn::markers::EndsInOther)
        }
    }

    fn backprop(&self) -> Backprop {
        if self.0 == "Step" {
            Backprop::Blocked
        } else {
            Backprop::Flows
        }
    }
}

impl Generated for LeakyRelu {
    fn ty(&self, layer: &Layer) -> TokenStream {
        let shape = layer.input.ty();
        quote!(::staticnn::layers::LeakyRelu<#shape>)
    }

    fn init(&self, _: &Layer) -> TokenStream {
        let slope = &self.slope;
        quote!(::staticnn::layers::LeakyRelu::with_slope(#slope))
    }
}
