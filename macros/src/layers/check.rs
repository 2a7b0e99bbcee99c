//! Checking a whole network: each entry sent to its layer's check (or
//! found among the networks declared before it), the shapes threaded from
//! one layer to the next, and the errors kept to one per mistake.

use super::{network, suggest, Site};
use crate::parse::{Entry, Network};
use crate::shape::args::{self, Hoist};
use crate::shape::{Companions, Ctx, Dim, Errors, Layer, NetSig, Plan, Shape, Step};
use proc_macro2::Span;
use syn::Ident;

/// Check one entry and infer its output shape.
fn layer(
    entries: &[Entry],
    i: usize,
    field: &Ident,
    owner: &Ident,
    input: &Shape,
    ctx: &mut Ctx,
) -> Step {
    let entry = &entries[i];
    if let Some(prefix) = &entry.path {
        // A network from another module, with its output shape, is the
        // one thing written with a path.
        if let (Some(path), Some(_)) = (&prefix.path, &entry.output) {
            return network::external(entry, path, input, ctx);
        }
        let written = format!("{}{}", prefix.text, args::display(entry));
        let msg = match suggest::foreign_spelling(entry) {
            Some((ours, _)) => format!("`{written}` is PyTorch's spelling; layers here are named without a module path: write `{ours}`"),
            None if super::find(&entry.kind.to_string()).is_some() => format!("layers are named without a module path: write `{}`", args::display(entry)),
            None if entry.args_span.is_some() || entry.block.is_some() => {
                let networks: Vec<String> = ctx.known.iter().map(|n| n.name.clone()).collect();
                suggest::unknown_layer(&entry.kind.to_string(), &networks)
            }
            None => format!("a network from another module is used as a layer with its output shape: `{}{} -> [..]`", prefix.text, entry.kind),
        };
        ctx.errors.err(prefix.span, msg);
        return None;
    }
    let network = ctx.known.iter().position(|n| entry.kind == n.name);
    if let (Some((_, span)), None, false) = (&entry.output, network, entry.kind == "Custom") {
        // `-> [..]` marks a network from another `network!` block.
        if super::find(&entry.kind.to_string()).is_some() {
            ctx.errors.err(
                *span,
                format!("`->` declares the output shape of a network used as a layer; `{}` works its shape out itself", entry.kind),
            );
            return None;
        }
        return network::external(entry, &entry.kind.clone().into(), input, ctx);
    }
    if entry.block.is_some() && entry.kind != "Residual" {
        let span = entry.block.as_ref().map_or(entry.kind.span(), |b| b.span);
        ctx.errors.err(
            span,
            format!(
                "only `Residual` takes a block of layers in braces, not `{}`",
                entry.kind
            ),
        );
        return None;
    }
    if let Some(msg) = suggest::foreign_layer(entry) {
        ctx.errors.err(entry.kind.span(), msg);
        return None;
    }
    let site = Site {
        entries,
        index: i,
        field,
        owner,
    };
    if let Some(def) = super::find(&entry.kind.to_string()) {
        return (def.check)(&site, input, ctx);
    }
    if let Some(sig) = ctx.known.iter().position(|n| entry.kind == n.name) {
        let sig = &ctx.known[sig];
        return network::known(entry, sig, input, ctx);
    }
    let name = entry.kind.to_string();
    if ctx.later.contains(&name) {
        ctx.errors.err(
            entry.kind.span(),
            format!("`{name}` is declared later in this `network!`; declare it before the networks that use it, so that its shapes are known"),
        );
        return None;
    }
    let networks: Vec<String> = ctx.known.iter().map(|n| n.name.clone()).collect();
    ctx.errors
        .err(entry.kind.span(), suggest::unknown_layer(&name, &networks));
    None
}

/// Check a list of layers fed `input` and infer every shape. `owner` names
/// the struct the list becomes (residual blocks inside it are named after
/// it). `None` when anything is in error.
pub fn list(owner: &Ident, entries: &[Entry], input: &Shape, ctx: &mut Ctx) -> Option<Vec<Layer>> {
    // Field names: the user's, or `_{index}` (PyTorch's index name); any clash is an error.
    // One error per clash, at the user's name, saying which layer had it
    // first (a proc macro cannot attach a note at a second place).
    let mut seen: Vec<(String, Span, usize)> = Vec::new();
    let mut clash = false;
    for (i, entry) in entries.iter().enumerate() {
        let (field, span) = match &entry.name {
            Some(n) => (n.to_string(), n.span()),
            None => (format!("_{i}"), entry.kind.span()),
        };
        if let Some((_, first_span, first)) = seen.iter().find(|(f, ..)| *f == field) {
            let layer = |j: usize| {
                let e = &entries[j];
                let name = e.name.as_ref().map_or(String::new(), |n| format!("{n}: "));
                format!("layer {j} (`{name}{}`)", args::display(e))
            };
            let (msg, at) = match (&entries[*first].name, &entry.name) {
                (Some(_), Some(_)) => (
                    format!("duplicate layer name `{field}`: {} already has it; every named layer needs its own name", layer(*first)),
                    span,
                ),
                (None, _) => (
                    format!("the name `{field}` clashes with the field `network!` gives the unnamed {}; pick another name", layer(*first)),
                    span,
                ),
                (Some(_), None) => (
                    format!("the name `{field}` clashes with the field `network!` gives the unnamed {}; pick another name", layer(i)),
                    *first_span,
                ),
            };
            ctx.errors.err(at, msg);
            clash = true;
        } else {
            seen.push((field, span, i));
        }
    }

    let mut shape = input.clone();
    let mut layers = Vec::new();
    let mut shapes_known = true;
    for (i, entry) in entries.iter().enumerate() {
        let (field, torch_name, named) = match &entry.name {
            Some(n) => (n.clone(), n.to_string(), true),
            None => (
                Ident::new(&format!("_{i}"), entry.kind.span()),
                i.to_string(),
                false,
            ),
        };
        if !shapes_known {
            // After an error the shapes are unknown, but each later layer's
            // arguments can still be checked, so the user sees every
            // mistake at once. While guessing, errors that depend on the
            // input shape are dropped, and so are const assertions.
            let (was, checks, hoisted) = (ctx.guessing, ctx.checks.len(), ctx.hoist.len());
            ctx.guessing = true;
            let start = ctx.errors.len();
            let _ = layer(entries, i, &field, owner, &Shape(vec![Dim::Known(1)]), ctx);
            ctx.errors.keep_first_since(start);
            ctx.guessing = was;
            ctx.checks.truncate(checks);
            ctx.hoist.truncate(hoisted);
            continue;
        }
        let start = ctx.errors.len();
        let step = layer(entries, i, &field, owner, &shape, ctx);
        if !matches!(entry.kind.to_string().as_str(), "Residual") {
            ctx.errors.keep_first_since(start);
        }
        let Some((kind, output, display)) = step else {
            shapes_known = false;
            continue;
        };
        layers.push(Layer {
            field,
            torch_name,
            kind,
            input: shape.clone(),
            output: output.clone(),
            display,
            named,
            span: entry.kind.span(),
        });
        shape = output;
    }
    (shapes_known && !clash).then_some(layers)
}

/// Check a parsed network and infer every shape. `known` holds the
/// networks declared before it in the same invocation, which it may use as
/// layers.
pub fn analyze(mut net: Network, known: &[NetSig], later: &[String]) -> syn::Result<Plan> {
    let mut errors = Errors::default();
    let companions = Companions::from_attrs(&net.name, &mut net.attrs, &mut errors);
    let mut ctx = Ctx {
        errors,
        checks: Vec::new(),
        known,
        later,
        vis: net.vis.clone(),
        derives: net
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("derive"))
            .cloned()
            .collect(),
        guessing: false,
        hoist: Hoist::new(&net.name),
    };

    if net.input.is_empty() || net.input.len() > 3 {
        ctx.errors.err(
            net.input_span,
            format!(
                "the input shape needs 1 to 3 dimensions (`[features]`, `[rows, cols]` or `[channels, height, width]`), found {}",
                net.input.len()
            ),
        );
    }
    let mut input_dims = Vec::new();
    for d in &net.input {
        match args::size(d, "an input dimension", false, &mut ctx) {
            Ok(d) => input_dims.push(d),
            Err(e) => ctx.errors.push(e),
        }
    }
    if net.entries.is_empty() {
        ctx.errors.err(
            net.body_span,
            format!(
                "`{}` has no layers; add at least one, e.g. `{{ Dense(10) }}`",
                net.name
            ),
        );
    }
    if let Some(e) = ctx.errors.take() {
        return Err(e);
    }
    let input = Shape(input_dims);
    let layers = list(&net.name, &net.entries, &input, &mut ctx);
    if let Some(e) = ctx.errors.take() {
        return Err(e);
    }
    let Some(layers) = layers else {
        return Err(syn::Error::new(net.name.span(), "the network has errors"));
    };
    Ok(Plan {
        attrs: net.attrs,
        vis: net.vis,
        name: net.name,
        input,
        layers,
        checks: ctx.checks,
        consts: ctx.hoist.items,
        companions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(src: &str) -> syn::Result<Plan> {
        let input: crate::parse::Input = syn::parse_str(src)?;
        analyze(
            input.networks.into_iter().next().expect("one network"),
            &[],
            &[],
        )
    }

    #[test]
    fn infers_shapes_through_flatten() {
        let p = plan("struct N: [2, 3, 4] { Flatten, Dense(5), Relu }").unwrap();
        let shapes: Vec<String> = p.layers.iter().map(|l| l.output.text()).collect();
        assert_eq!(shapes, ["[24]", "[5]", "[5]"]);
    }

    #[test]
    fn const_sizes_become_expressions_and_checks() {
        let p = plan("struct N: [C, 4] { Flatten, Dense(H) }").unwrap();
        assert_eq!(p.layers[0].output.text(), "[C * 4]");
        assert_eq!(p.layers[1].output.text(), "[H]");
        assert_eq!(p.checks.len(), 2);
    }

    #[test]
    fn he_init_before_relu_even_through_dropout() {
        let p = plan("struct N: [4] { Dense(3), Dropout(0.5), Relu, Dense(2), Sigmoid }").unwrap();
        // The generated initialisation of the two Dense layers.
        let inits: Vec<String> = [0, 3]
            .iter()
            .map(|&i| p.layers[i].kind.init(&p.layers[i]).to_string())
            .collect();
        assert!(inits[0].contains("HeNormal"), "{}", inits[0]);
        assert!(inits[1].contains("GlorotUniform"), "{}", inits[1]);
    }

    #[test]
    fn suggestions() {
        assert_eq!(args::edit_distance("Relux", "Relu"), 1);
        let e = plan("struct N: [4] { Sigmod }").err().unwrap().to_string();
        assert!(e.contains("did you mean `Sigmoid`"), "{e}");
    }
}
