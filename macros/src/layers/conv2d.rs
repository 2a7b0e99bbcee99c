//! Conv2d: a 2-D convolution over `[channels, height, width]` images.

use super::weights::weight_options;
use super::window::{image, output_hw, padding, pair_or, Window};
use super::{LayerDef, Site};
use crate::parse::Entry;
use crate::shape::args::{
    args_span, check_named, display, max_positional, named, positional_or_named, require_size,
};
use crate::shape::{Ctx, Dim, Generated, Layer, Shape, Step};
use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

pub const CONV2D: LayerDef = LayerDef {
    name: "Conv2d",
    aliases: &[("Conv2D", "Keras'"), ("Convolution2D", "Keras'")],
    check,
    foreign,
    transparent: false,
    wants_he: false,
};

struct Conv2d {
    out: Dim,
    win: Window,
    bias: bool,
    init: Ident,
}

fn check(site: &Site, input: &Shape, ctx: &mut Ctx) -> Step {
    let (entries, i, entry) = (site.entries, site.index, site.entry());
    check_named(
        entry,
        &["kernel", "stride", "padding", "bias", "init"],
        &mut ctx.errors,
    );
    let usage =
        "write `Conv2d(out_channels, kernel = k)` with options `stride`, `padding`, `bias`, `init`";
    max_positional(entry, 2, usage, &mut ctx.errors);
    let (bias, init) = weight_options(entries, i, ctx);
    let Some(out) = entry.args.first() else {
        ctx.errors.err(
            args_span(entry),
            "Conv2d needs the number of output channels and a kernel size, e.g. `Conv2d(16, kernel = 3)`",
        );
        return None;
    };
    let out = require_size(out, "Conv2d's number of output channels", ctx);
    let Some(kernel) = positional_or_named(entry, 1, "kernel", &mut ctx.errors) else {
        ctx.errors.err(
            args_span(entry),
            "Conv2d needs a kernel size, e.g. `Conv2d(16, kernel = 3)` or `kernel = (3, 5)`",
        );
        return None;
    };
    let kernel = pair_or(
        Some(kernel),
        "Conv2d's kernel size",
        false,
        (Dim::Known(1), Dim::Known(1)),
        ctx,
    );
    let stride = pair_or(
        named(entry, "stride"),
        "Conv2d's stride",
        false,
        (Dim::Known(1), Dim::Known(1)),
        ctx,
    );
    let (out, kernel, stride) = (out?, kernel?, stride?);
    let padding = padding(named(entry, "padding"), &kernel, &stride, ctx)?;
    let dims = image(entry, input, ctx)?;
    let win = Window {
        kernel,
        stride,
        padding,
    };
    let (h, w) = output_hw(entry, &dims, &win, false, ctx)?;
    Some((
        Box::new(Conv2d {
            out: out.clone(),
            win,
            bias,
            init,
        }),
        Shape(vec![out, h, w]),
        display(entry),
    ))
}

/// PyTorch's `Conv2d(in, out, kernel_size, stride, padding)` and Keras'
/// `Conv2D(filters, kernel_size, strides, padding)`.
fn foreign(entry: &Entry, alias: bool) -> Option<(String, bool)> {
    let w = super::suggest::Written::of(entry);
    let kernel = w.named("kernel_size");
    let (out, rest, inferred) = match (alias, w.args.as_slice()) {
        (true, [out, rest @ ..]) => (out.clone(), rest, false),
        (true, []) => (w.named("filters")?, &[][..], false),
        (false, [_, out, rest @ ..]) if !rest.is_empty() || kernel.is_some() => {
            (out.clone(), rest, true)
        }
        (false, []) => (
            w.named("out_channels")?,
            &[][..],
            w.named("in_channels").is_some(),
        ),
        _ => return None,
    };
    let mut text = format!("Conv2d({out}");
    match rest.first().cloned().or(kernel) {
        Some(k) => text += &format!(", kernel = {k}"),
        None => return None,
    }
    for (key, value) in ["stride", "padding"].iter().zip(rest.iter().skip(1)) {
        text += &format!(", {key} = {value}");
    }
    text += &w.options(super::suggest::WINDOW_OPTIONS);
    text += &w.options(&[("bias", "bias"), ("use_bias", "bias")]);
    Some((text + ")", inferred))
}

/// `(rows, cols)` as a tuple of `usize` expressions.
pub fn pair((a, b): &(Dim, Dim)) -> TokenStream {
    let (a, b) = (a.expr(), b.expr());
    quote!((#a, #b))
}

impl Generated for Conv2d {
    fn ty(&self, layer: &Layer) -> TokenStream {
        let (shape, out) = (layer.input.ty(), layer.output.ty());
        let (kh, kw) = (self.win.kernel.0.tokens(), self.win.kernel.1.tokens());
        quote!(::staticnn::layers::Conv2d<B, #shape, #out, #kh, #kw>)
    }

    fn init(&self, _: &Layer) -> TokenStream {
        let (stride, padding) = (pair(&self.win.stride), pair(&self.win.padding));
        let (init, bias) = (&self.init, self.bias);
        quote!(::staticnn::layers::Conv2d::init(
            device, rng, ::staticnn::Init::#init, #bias, #stride, #padding
        )?)
    }

    fn num_params(&self, layer: &Layer) -> TokenStream {
        let (c, o) = (layer.input.0[0].expr(), self.out.expr());
        let (kh, kw) = (self.win.kernel.0.expr(), self.win.kernel.1.expr());
        let b = if self.bias { quote!(+ #o) } else { quote!() };
        quote!(#o * #c * #kh * #kw #b)
    }
}
