//! Layers made of layers: residual blocks and networks declared earlier in
//! the same `network!`.

use super::{list, ConstCheck, Ctx, Dim, Kind, Plan, Shape, Step};
use crate::parse::Entry;
use quote::{format_ident, quote};
use syn::Ident;

/// Whether two shapes are equal: `false` when the macro can see they
/// differ; when they hold const expressions, a const assertion (with
/// `message`) decides and this says `true`.
pub fn same_shape(
    a: &Shape,
    b: &Shape,
    message: &str,
    span: proc_macro2::Span,
    ctx: &mut Ctx,
) -> bool {
    if a.0.len() != b.0.len() {
        return false;
    }
    let mut pending = Vec::new();
    for (x, y) in a.0.iter().zip(&b.0) {
        match (x, y) {
            (Dim::Known(x), Dim::Known(y)) => {
                if x != y {
                    return false;
                }
            }
            _ => {
                let (xe, ye) = (x.expr(), y.expr());
                pending.push(ConstCheck {
                    cond: quote!(#xe == #ye),
                    message: message.to_string(),
                    span,
                });
            }
        }
    }
    ctx.checks.extend(pending);
    true
}

/// `snake_case` or `_3` as `CamelCase`, for generated struct names.
fn camel(s: &str) -> String {
    s.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// A projection that would fix a residual block whose body turns `input`
/// into `output` (both images): a 1x1 Conv2d with the stride that shrinks
/// the image.
fn projection_hint(input: &Shape, output: &Shape) -> String {
    if let ([_, Dim::Known(h), Dim::Known(w)], [Dim::Known(c), Dim::Known(oh), Dim::Known(ow)]) =
        (input.0.as_slice(), output.0.as_slice())
    {
        if h % oh == 0 && w % ow == 0 && h / oh == w / ow {
            let s = h / oh;
            let stride = if s == 1 {
                String::new()
            } else {
                format!(", stride = {s}")
            };
            return format!(
                "; add a projection shortcut: `Residual {{ ... }} + downsample: {{ Conv2d({c}, kernel = 1{stride}, bias = false), BatchNorm }}`"
            );
        }
    }
    "; add a projection shortcut after the block: `Residual { ... } + { ... }` whose output has the body's shape".to_string()
}

pub fn residual(entry: &Entry, field: &Ident, owner: &Ident, input: &Shape, ctx: &mut Ctx) -> Step {
    super::args::no_args(entry, &mut ctx.errors);
    let Some(block) = &entry.block else {
        ctx.errors.err(
            entry.kind.span(),
            "Residual needs its layers in braces, e.g. `Residual { Conv2d(16, kernel = 3, padding = 1), BatchNorm, Relu }`",
        );
        return None;
    };
    if block.entries.is_empty() {
        ctx.errors.err(
            block.span,
            "this residual block has no layers; add at least one",
        );
        return None;
    }
    // Hidden names, like the companion structs'.
    let body_name = format_ident!(
        "__{}{}",
        owner.to_string().trim_start_matches("__"),
        camel(&field.to_string())
    );
    let body = sub_plan(
        &body_name,
        &block.entries,
        input,
        ctx,
        format!("The body of `{owner}`'s residual block `{field}`."),
    )?;
    let out = body.output().clone();
    let shortcut = match &block.shortcut {
        None => {
            let msg = format!(
                "the residual block `{field}` must keep its input's shape {}",
                input.text()
            );
            if !same_shape(&out, input, &msg, entry.kind.span(), ctx) {
                ctx.shape_err(
                    entry.kind.span(),
                    format!(
                        "this residual block's output {} differs from its input {}, so they cannot be added{}",
                        out.text(),
                        input.text(),
                        projection_hint(input, &out)
                    ),
                );
                return None;
            }
            None
        }
        Some(sc) => {
            if sc.entries.is_empty() {
                ctx.errors.err(sc.span, "this shortcut has no layers; add a projection, or remove `+ { }` for the identity");
                return None;
            }
            let name = sc
                .name
                .as_ref()
                .map_or("shortcut".to_string(), Ident::to_string);
            let sc_name = format_ident!("{}{}", body_name, camel(&name));
            let plan = sub_plan(
                &sc_name,
                &sc.entries,
                input,
                ctx,
                format!("The shortcut of `{owner}`'s residual block `{field}`."),
            )?;
            let sc_out = plan.output().clone();
            let span = sc.name.as_ref().map_or(sc.span, Ident::span);
            let msg = format!(
                "the shortcut of `{field}` must produce the body's output shape {}",
                out.text()
            );
            if !same_shape(&sc_out, &out, &msg, span, ctx) {
                ctx.shape_err(
                    span,
                    format!(
                        "the shortcut's output {} differs from the residual body's output {}; the projection must map the input {} to {}",
                        sc_out.text(),
                        out.text(),
                        input.text(),
                        out.text()
                    ),
                );
                return None;
            }
            Some((name, Box::new(plan)))
        }
    };
    Some((
        Kind::Residual {
            body: Box::new(body),
            shortcut,
        },
        out,
        "Residual".into(),
    ))
}

fn sub_plan(
    name: &Ident,
    entries: &[Entry],
    input: &Shape,
    ctx: &mut Ctx,
    doc: String,
) -> Option<Plan> {
    let layers = list(name, entries, input, ctx)?;
    let doc = format!(" {doc}");
    // The block's structs derive what the network derives (`Debug`), since
    // the network's derives need them.
    let mut attrs: Vec<syn::Attribute> = ctx.derives.clone();
    attrs.push(syn::parse_quote!(#[doc = #doc]));
    Some(Plan {
        attrs,
        vis: ctx.vis.clone(),
        name: name.clone(),
        input: input.clone(),
        layers,
        checks: Vec::new(),
        consts: Vec::new(),
        companions: super::Companions::hidden(name),
    })
}

/// A network is used as a layer as it is: no arguments, no block. `false`
/// (with the error reported) otherwise.
fn used_as_is(entry: &Entry, ctx: &mut Ctx) -> bool {
    if entry.args_span.is_none() && entry.block.is_none() {
        return true;
    }
    let name = &entry.kind;
    ctx.errors.err(
        name.span(),
        format!(
            "the network `{name}` is used as a layer as it is: write `{name}` with no arguments"
        ),
    );
    false
}

/// The shape written after `->`.
fn declared_output(entry: &Entry, ctx: &mut Ctx) -> Option<Shape> {
    let (dims, span) = entry.output.as_ref()?;
    if dims.is_empty() || dims.len() > 3 {
        ctx.errors.err(
            *span,
            "an output shape needs 1 to 3 dimensions, e.g. `-> [2]`",
        );
        return None;
    }
    let mut out = Vec::new();
    for d in dims {
        match super::args::size(d, "an output dimension", false, ctx) {
            Ok(d) => out.push(d),
            Err(e) => {
                ctx.errors.push(e);
                return None;
            }
        }
    }
    Some(Shape(out))
}

/// A network declared in another `network!` block, used as a layer with
/// its output shape written out (`encoder: Encoder -> [2]`). The macro
/// cannot see that network, so rustc checks both shapes against the
/// network's `INPUT_SHAPE` and `OUTPUT_SHAPE` with const assertions at the
/// entry.
pub fn external_network(entry: &Entry, ty: &syn::Path, input: &Shape, ctx: &mut Ctx) -> Step {
    if !used_as_is(entry, ctx) {
        return None;
    }
    let output = declared_output(entry, ctx)?;
    let shown = quote!(#ty).to_string().replace(' ', "");
    let span = entry.kind.span();
    // Type checks, not const assertions, so that the one error names both
    // shapes (`staticnn::shape::check_output`).
    let (given, declared) = (input.ty(), output.ty());
    let real = |assoc: proc_macro2::TokenStream| quote!(<#ty<::staticnn::Cpu> as ::staticnn::Layer<::staticnn::Cpu>>::#assoc);
    let (real_in, real_out) = (real(quote!(Input)), real(quote!(Output)));
    ctx.hoist.item(super::respan(
        quote! {
            const _: () = ::staticnn::shape::check_input::<#real_in, #given>();
            const _: () = ::staticnn::shape::check_output::<#real_out, #declared>();
        },
        span,
    ));
    Some((
        Kind::Network {
            ty: ty.clone(),
            external: true,
        },
        output,
        shown,
    ))
}

/// A network declared earlier in the same invocation, used as a layer.
pub fn network(entry: &Entry, sig: &super::NetSig, input: &Shape, ctx: &mut Ctx) -> Step {
    if let Some(declared) = declared_output(entry, ctx) {
        let msg = format!("`{}` has outputs of shape {}", sig.name, sig.output.text());
        if !same_shape(&declared, &sig.output, &msg, entry.kind.span(), ctx) {
            ctx.shape_err(
                entry.kind.span(),
                format!(
                    "`{}` gives outputs of shape {}, not {}",
                    sig.name,
                    sig.output.text(),
                    declared.text()
                ),
            );
            return None;
        }
    }
    if !used_as_is(entry, ctx) {
        return None;
    }
    let msg = format!(
        "`{}` expects inputs of shape {}",
        sig.name,
        sig.input.text()
    );
    if !same_shape(&sig.input, input, &msg, entry.kind.span(), ctx) {
        if ctx.guessing {
            return None;
        }
        let hint = if sig.input.0.len() == 1 && input.0.len() > 1 {
            "; add `Flatten` before it"
        } else {
            ""
        };
        ctx.errors.err(
            entry.kind.span(),
            format!(
                "`{}` expects inputs of shape {} but gets {}{hint}",
                sig.name,
                sig.input.text(),
                input.text()
            ),
        );
        return None;
    }
    Some((
        Kind::Network {
            ty: Ident::new(&sig.name, entry.kind.span()).into(),
            external: false,
        },
        sig.output.clone(),
        sig.name.clone(),
    ))
}

/// `Custom(Gelu)`: a layer of the user's own, which the runtime's `Build`
/// makes for its input shape. The macro cannot see its output shape: it
/// is the one written after `->`, or the input's, and the bounds of
/// `Placed::declared` (or `same`), spanned at the type, hold the layer to
/// it, naming both shapes.
pub fn custom(entry: &Entry, input: &Shape, ctx: &mut Ctx) -> Step {
    let usage = "Custom takes the type of a layer of your own, e.g. `Custom(Gelu)`, and `-> [..]` after it when the layer changes the shape";
    super::args::check_named(entry, &[], &mut ctx.errors);
    let ty = match entry.args.as_slice() {
        [syn::Expr::Path(p)] if p.qself.is_none() => p.path.clone(),
        [] => {
            ctx.errors.err(super::args::args_span(entry), usage);
            return None;
        }
        [other, ..] => {
            ctx.errors.err(syn::spanned::Spanned::span(other), usage);
            return None;
        }
    };
    if entry.block.is_some() {
        ctx.errors.err(entry.kind.span(), usage);
        return None;
    }
    let output = match &entry.output {
        Some(_) => declared_output(entry, ctx)?,
        None => input.clone(),
    };
    let shown = quote!(#ty).to_string().replace(' ', "");
    let declared = entry.output.is_some();
    Some((
        Kind::Custom { ty, declared },
        output,
        format!("Custom({shown})"),
    ))
}
