//! Residual blocks: `body(x) + shortcut(x)`, the shortcut the identity or
//! a projection. The body and the shortcut become networks of their own.

use super::{LayerDef, Site};
use crate::parse::Entry;
use crate::shape::args::no_args;
use crate::shape::{
    same_shape, Backprop, Companions, Ctx, Dim, Generated, Layer, Plan, Shape, Step,
};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

pub const RESIDUAL: LayerDef = LayerDef::plain("Residual", check);

/// `body(x) + shortcut(x)`; no shortcut means the identity. The shortcut
/// carries its weight-name prefix.
struct Residual {
    body: Box<Plan>,
    shortcut: Option<(String, Box<Plan>)>,
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

fn check(site: &Site, input: &Shape, ctx: &mut Ctx) -> Step {
    let (entry, field, owner) = (site.entry(), site.field, site.owner);
    no_args(entry, &mut ctx.errors);
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
        Box::new(Residual {
            body: Box::new(body),
            shortcut,
        }),
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
    let layers = super::check::list(name, entries, input, ctx)?;
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
        companions: Companions::hidden(name),
    })
}

impl Generated for Residual {
    fn ty(&self, layer: &Layer) -> TokenStream {
        let body = &self.body.name;
        let shortcut = match &self.shortcut {
            Some((_, p)) => {
                let name = &p.name;
                quote!(#name<B>)
            }
            None => {
                let shape = layer.input.ty();
                quote!(::staticnn::layers::Identity<#shape>)
            }
        };
        quote!(::staticnn::layers::Residual<#body<B>, #shortcut>)
    }

    fn init(&self, layer: &Layer) -> TokenStream {
        let body = &self.body.name;
        let (short, name) = match &self.shortcut {
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

    fn num_params(&self, _: &Layer) -> TokenStream {
        let body = &self.body.name;
        let short = self.shortcut.as_ref().map(|(_, p)| {
            let ty = &p.name;
            quote!(+ #ty::<B>::NUM_PARAMS)
        });
        quote!(#body::<B>::NUM_PARAMS #short)
    }

    fn backprop(&self) -> Backprop {
        let of = |p: &Plan| {
            let name = &p.name;
            quote!(<#name<B> as ::staticnn::Model<B>>::Backprop)
        };
        let mut parts = vec![of(&self.body)];
        parts.extend(self.shortcut.as_ref().map(|(_, p)| of(p)));
        Backprop::Through(parts)
    }

    fn plans(&self) -> Vec<&Plan> {
        let mut plans = vec![&*self.body];
        plans.extend(self.shortcut.as_ref().map(|(_, p)| &**p));
        plans
    }

    fn summary_rows(&self, layer: &Layer) -> TokenStream {
        let (name, field) = (&layer.torch_name, &layer.field);
        let model = quote!(::staticnn::Model::summary);
        let short = self.shortcut.as_ref().map(|(sc, _)| {
            let prefix = format!("{name}.{sc}");
            quote!(rows.extend(#model(&self.#field.shortcut).nested(#prefix));)
        });
        quote! {
            rows.extend(#model(&self.#field.body).nested(#name));
            #short
        }
    }
}
