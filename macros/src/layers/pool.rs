//! Pooling: MaxPool2d and AvgPool2d, PyTorch's AdaptiveAvgPool2d and
//! AdaptiveMaxPool2d, and GlobalAvgPool.

use super::conv2d::pair;
use super::window::{image, output_hw, pair_or, size_arg, SizeArg, Window};
use super::{LayerDef, Site};
use crate::parse::Entry;
use crate::shape::args::{bool_arg, display, named, no_args};
use crate::shape::{ConstCheck, Ctx, Dim, Generated, Layer, Shape, Step};
use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;

pub const MAX_POOL: LayerDef = LayerDef {
    name: "MaxPool2d",
    aliases: &[
        ("MaxPooling2D", "Keras'"),
        ("MaxPool", "another framework's"),
    ],
    check: |site, input, ctx| pool(site.entry(), true, input, ctx),
    foreign,
    transparent: true,
    wants_he: false,
};

pub const AVG_POOL: LayerDef = LayerDef {
    name: "AvgPool2d",
    aliases: &[
        ("AveragePooling2D", "Keras'"),
        ("AvgPool", "another framework's"),
    ],
    check: |site, input, ctx| pool(site.entry(), false, input, ctx),
    foreign,
    transparent: true,
    wants_he: false,
};

pub const ADAPTIVE_AVG_POOL: LayerDef = LayerDef::plain("AdaptiveAvgPool2d", |site, input, ctx| {
    adaptive_pool(site.entry(), false, input, ctx)
});

pub const ADAPTIVE_MAX_POOL: LayerDef = LayerDef::plain("AdaptiveMaxPool2d", |site, input, ctx| {
    adaptive_pool(site.entry(), true, input, ctx)
});

pub const GLOBAL_AVG_POOL: LayerDef = LayerDef {
    aliases: &[("GlobalAveragePooling2D", "Keras'")],
    ..LayerDef::plain("GlobalAvgPool", global_avg_pool)
};

/// MaxPool2d (`max`) or AvgPool2d over a window.
struct Pool {
    max: bool,
    win: Window,
}

struct GlobalAvgPool;

fn pool(entry: &Entry, max: bool, input: &Shape, ctx: &mut Ctx) -> Step {
    let kind = entry.kind.to_string();
    let (_, kernel) = size_arg(
        entry,
        SizeArg {
            options: &["kernel", "stride", "padding", "floor"],
            key: "kernel",
            usage: &format!("write `{kind}(size)` with options `stride`, `padding`, `floor`"),
            missing: &format!("{kind} needs a window size, e.g. `{kind}(2)`"),
            what: &format!("{kind}'s window size"),
        },
        ctx,
    )?;
    // The stride defaults to the window, as in PyTorch and Keras.
    let stride = pair_or(
        named(entry, "stride"),
        &format!("{kind}'s stride"),
        false,
        kernel.clone(),
        ctx,
    )?;
    let padding = pair_or(
        named(entry, "padding"),
        "padding",
        true,
        (Dim::Known(0), Dim::Known(0)),
        ctx,
    )?;
    let floor = named(entry, "floor")
        .and_then(|v| bool_arg(v, "floor", &mut ctx.errors))
        .unwrap_or(false);
    // PyTorch refuses padding over half the window: a window of padding
    // alone would have no input in it.
    for (k, p) in [(&kernel.0, &padding.0), (&kernel.1, &padding.1)] {
        if let (Dim::Known(k), Dim::Known(p)) = (k, p) {
            if 2 * p > *k {
                let span = named(entry, "padding").map_or(entry.kind.span(), |e| e.span());
                ctx.errors.err(
                    span,
                    format!("{kind}'s padding ({p}) must be at most half its window ({k})"),
                );
                return None;
            }
        }
    }
    let dims = image(entry, input, ctx)?;
    let win = Window {
        kernel,
        stride,
        padding,
    };
    let (h, w) = output_hw(entry, &dims, &win, !floor, ctx)?;
    Some((
        Box::new(Pool { max, win }),
        Shape(vec![dims[0].clone(), h, w]),
        display(entry),
    ))
}

/// PyTorch's `AdaptiveAvgPool2d(output_size)` (and `AdaptiveMaxPool2d`),
/// so that a ported `nn.Sequential` keeps its layers and their indices:
/// `AdaptiveAvgPool2d(1), Flatten` is PyTorch's spelling of
/// `GlobalAvgPool`. Where the output size divides the input's, PyTorch's
/// adaptive windows are all `input / output` wide and do not overlap, so
/// the layer is a plain pool with that window and stride; other sizes
/// (overlapping windows of two widths) are refused.
fn adaptive_pool(entry: &Entry, max: bool, input: &Shape, ctx: &mut Ctx) -> Step {
    let kind = entry.kind.to_string();
    let (size, out) = size_arg(
        entry,
        SizeArg {
            options: &["output_size"],
            key: "output_size",
            usage: &format!("write `{kind}(output_size)`, e.g. `{kind}(1)`"),
            missing: &format!(
                "{kind} needs an output size, e.g. `{kind}(1)` for one value per channel"
            ),
            what: &format!("{kind}'s output size"),
        },
        ctx,
    )?;
    let dims = image(entry, input, ctx)?;
    let mut kernel = Vec::new();
    // A square mistake is one error, not one per axis.
    let square = out.0.text() == out.1.text() && dims[1].text() == dims[2].text();
    let axes = if square {
        ["height and width", ""]
    } else {
        ["height", "width"]
    };
    for ((o, i), axis) in [(&out.0, &dims[1]), (&out.1, &dims[2])]
        .into_iter()
        .zip(axes)
    {
        let uneven = || {
            format!(
                "{kind} gives {} outputs along the {axis} of {}, which is not a whole number of \
                 inputs per output; use an output size that divides it, or 1",
                o.text(),
                i.text()
            )
        };
        match (o, i) {
            // One value per channel: the window is the whole axis, whatever
            // its size (a const expression included).
            (Dim::Known(1), _) => kernel.push(i.clone()),
            (Dim::Known(o), Dim::Known(i)) if i % o == 0 => kernel.push(Dim::Known(i / o)),
            (Dim::Known(_), Dim::Known(_)) => {
                ctx.shape_err(size.span(), uneven());
                return None;
            }
            // A const size or output: rustc checks the division.
            _ => {
                let (ie, oe) = (i.expr(), o.expr());
                if !axis.is_empty() {
                    ctx.checks.push(ConstCheck {
                        cond: quote!(#ie % #oe == 0),
                        message: uneven(),
                        span: size.span(),
                    });
                }
                kernel.push(Dim::Const(
                    quote!(#ie / #oe),
                    format!("{} / {}", i.text(), o.text()),
                ));
            }
        }
    }
    let kernel = (kernel[0].clone(), kernel[1].clone());
    let win = Window {
        stride: kernel.clone(),
        kernel,
        padding: (Dim::Known(0), Dim::Known(0)),
    };
    Some((
        Box::new(Pool { max, win }),
        Shape(vec![dims[0].clone(), out.0, out.1]),
        display(entry),
    ))
}

fn global_avg_pool(site: &Site, input: &Shape, ctx: &mut Ctx) -> Step {
    let entry = site.entry();
    no_args(entry, &mut ctx.errors);
    let dims = image(entry, input, ctx)?;
    Some((
        Box::new(GlobalAvgPool),
        Shape(vec![dims[0].clone()]),
        "GlobalAvgPool".into(),
    ))
}

/// PyTorch's `MaxPool2d(kernel_size = k)`, Keras' `pool_size`.
fn foreign(entry: &Entry, _alias: bool) -> Option<(String, bool)> {
    let w = super::suggest::Written::of(entry);
    let k = w.named("kernel_size").or_else(|| w.named("pool_size"))?;
    let kind = if entry.kind.to_string().starts_with("Max") {
        "MaxPool2d"
    } else {
        "AvgPool2d"
    };
    Some((
        format!("{kind}({k}{})", w.options(super::suggest::WINDOW_OPTIONS)),
        false,
    ))
}

impl Generated for Pool {
    fn ty(&self, layer: &Layer) -> TokenStream {
        let (shape, out) = (layer.input.ty(), layer.output.ty());
        if self.max {
            quote!(::staticnn::layers::MaxPool2d<#shape, #out>)
        } else {
            quote!(::staticnn::layers::AvgPool2d<#shape, #out>)
        }
    }

    fn init(&self, layer: &Layer) -> TokenStream {
        let ty = self.ty(layer);
        let w = &self.win;
        let (kernel, stride, padding) = (pair(&w.kernel), pair(&w.stride), pair(&w.padding));
        quote!(<#ty>::new(::staticnn::layers::PoolWindow {
            kernel: #kernel, stride: #stride, padding: #padding,
        })?)
    }
}

impl Generated for GlobalAvgPool {
    fn ty(&self, layer: &Layer) -> TokenStream {
        let shape = layer.input.ty();
        quote!(::staticnn::layers::GlobalAvgPool<#shape>)
    }

    fn init(&self, layer: &Layer) -> TokenStream {
        let ty = self.ty(layer);
        quote!(<#ty>::new())
    }
}
