//! The grammar of `network!`, parsed with syn. Every node keeps the span of
//! the user's tokens so that later errors point at them.
//!
//! ```text
//! input   := network+
//! network := attr* vis "struct" ident ":" "[" dim ("," dim)* ","? "]" "{" entries "}"
//! entries := (entry ("," entry)* ","?)?
//! entry   := (ident ":")? ident ("(" arg ("," arg)* ","? ")")? ("->" dims)? block?
//! dims    := "[" expr ("," expr)* ","? "]"
//! block   := "{" entries "}" ("+" (ident ":")? "{" entries "}")?
//! arg     := expr | ident "=" expr
//! ```
//!
//! Only `Residual` takes a block: its body, then optionally `+` and the
//! shortcut that projects the input to the body's output shape. `-> [..]`
//! gives the output shape of a network declared in another `network!`,
//! used as a layer.
//!
//! The parser only checks the grammar; what the layers and numbers mean is
//! checked in `layers/`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{braced, bracketed, parenthesized, Attribute, Expr, Ident, Token, Visibility};

/// Everything inside one `network! { ... }`.
pub struct Input {
    pub networks: Vec<Network>,
}

/// One `struct Name: [dims] { layers }`.
pub struct Network {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub input: Vec<Expr>,
    pub input_span: Span,
    pub body_span: Span,
    pub entries: Vec<Entry>,
}

/// One entry of the layer list.
pub struct Entry {
    /// `fc1` in `fc1: Dense(128)`.
    pub name: Option<Ident>,
    /// `Dense`.
    pub kind: Ident,
    /// The path before the kind, as written: `nn::` or `nn.` (PyTorch's
    /// habit, refused), or `models::` for a network from another module.
    pub path: Option<PathPrefix>,
    /// Positional arguments, in order.
    pub args: Vec<Expr>,
    /// `key = value` arguments, in order.
    pub named: Vec<(Ident, Expr)>,
    /// The parenthesised arguments, when present.
    pub args_span: Option<Span>,
    /// `{ ... }` after the layer (Residual's body and shortcut).
    pub block: Option<Block>,
    /// `-> [2]`: the declared output shape of a network used as a layer.
    pub output: Option<(Vec<Expr>, Span)>,
}

/// `a::b::` (or `nn.`) before a layer's name.
pub struct PathPrefix {
    /// The whole path, kind included, when written with `::`.
    pub path: Option<syn::Path>,
    /// The prefix as written, `nn.` or `models::`.
    pub text: String,
    pub span: Span,
}

/// A nested list of layers, with an optional `+ name: { ... }` shortcut.
pub struct Block {
    pub entries: Vec<Entry>,
    pub span: Span,
    pub shortcut: Option<Shortcut>,
}

/// The projection after `+` in `Residual { ... } + downsample: { ... }`.
pub struct Shortcut {
    pub name: Option<Ident>,
    pub entries: Vec<Entry>,
    pub span: Span,
}

fn braced_entries(input: ParseStream) -> syn::Result<(Vec<Entry>, Span)> {
    let body;
    let brace = braced!(body in input);
    let list: Punctuated<Entry, Token![,]> = body.parse_terminated(Entry::parse, Token![,])?;
    Ok((list.into_iter().collect(), brace.span.join()))
}

impl Parse for Block {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let (entries, span) = braced_entries(input)?;
        let shortcut = if input.peek(Token![+]) {
            input.parse::<Token![+]>()?;
            let name = if input.peek(Ident) {
                let name: Ident = input.parse()?;
                input.parse::<Token![:]>()?;
                Some(name)
            } else {
                None
            };
            if !input.peek(syn::token::Brace) {
                return Err(input.error(
                    "expected the shortcut's layers in braces after `+`, e.g. `+ downsample: { Conv2d(64, kernel = 1, stride = 2) }`",
                ));
            }
            let (entries, span) = braced_entries(input)?;
            Some(Shortcut {
                name,
                entries,
                span,
            })
        } else {
            None
        };
        Ok(Block {
            entries,
            span,
            shortcut,
        })
    }
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut networks = Vec::new();
        while !input.is_empty() {
            networks.push(input.parse()?);
        }
        if networks.is_empty() {
            return Err(input.error("expected a network: `struct Name: [inputs] { layers }`"));
        }
        Ok(Input { networks })
    }
}

impl Parse for Network {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        if input.peek(Token![<]) {
            return Err(input.error("a network takes no generic parameters: `network!` adds the backend parameter `B` itself"));
        }
        if !input.peek(Token![:]) {
            return Err(input.error(format!(
                "expected `:` and the input shape after `{name}`, e.g. `struct {name}: [784] {{ ... }}`"
            )));
        }
        input.parse::<Token![:]>()?;
        if !input.peek(syn::token::Bracket) {
            return Err(
                input.error("expected the input shape in brackets, e.g. `[784]` or `[1, 28, 28]`")
            );
        }
        let dims;
        let bracket = bracketed!(dims in input);
        let input_dims: Punctuated<Expr, Token![,]> =
            dims.parse_terminated(Expr::parse, Token![,])?;
        let (entries, body_span) = braced_entries(input)?;
        Ok(Network {
            attrs,
            vis,
            name,
            input: input_dims.into_iter().collect(),
            input_span: bracket.span.join(),
            body_span,
            entries,
        })
    }
}

impl Parse for Entry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let name: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            Some(name)
        } else {
            None
        };
        let mut kind: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a layer, e.g. `Dense(128)`, `Relu` or `name: Dense(10)`",
            )
        })?;
        // `nn::Linear` or `nn.Linear`: the path is kept so that the shape
        // stage can say what to write (or use it for a network from
        // another module).
        let mut path = None;
        let (mut segments, mut text, mut dotted) = (vec![kind.clone()], String::new(), false);
        let start = kind.span();
        while input.peek(Token![::]) || (input.peek(Token![.]) && input.peek2(Ident)) {
            if input.peek(Token![::]) {
                input.parse::<Token![::]>()?;
                text += &format!("{kind}::");
            } else {
                input.parse::<Token![.]>()?;
                text += &format!("{kind}.");
                dotted = true;
            }
            kind = input.parse()?;
            segments.push(kind.clone());
        }
        if segments.len() > 1 {
            let full: Option<syn::Path> = (!dotted).then(|| {
                let segments = segments.iter();
                syn::parse_quote!(#(#segments)::*)
            });
            path = Some(PathPrefix {
                path: full,
                text,
                span: start.join(kind.span()).unwrap_or(start),
            });
        }
        if input.peek(syn::token::Bracket) {
            return Err(input.error(format!(
                "a layer's arguments go in parentheses: `{kind}(..)`"
            )));
        }
        let (mut args, mut named, mut args_span) = (Vec::new(), Vec::new(), None);
        if input.peek(syn::token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            args_span = Some(paren.span.join());
            let list: Punctuated<Expr, Token![,]> =
                content.parse_terminated(Expr::parse, Token![,])?;
            for arg in list {
                match arg {
                    // `key = value` parses as an assignment expression.
                    Expr::Assign(assign) => match *assign.left {
                        Expr::Path(p) if p.path.get_ident().is_some() => {
                            let key = p.path.get_ident().cloned().expect("checked above");
                            named.push((key, *assign.right));
                        }
                        other => {
                            return Err(syn::Error::new(
                                other.span(),
                                "expected an argument name before `=`",
                            ))
                        }
                    },
                    positional => {
                        if !named.is_empty() {
                            return Err(syn::Error::new(
                                positional.span(),
                                "positional arguments must come before named ones",
                            ));
                        }
                        args.push(positional);
                    }
                }
            }
        }
        let output = if input.peek(Token![->]) {
            input.parse::<Token![->]>()?;
            if !input.peek(syn::token::Bracket) {
                return Err(
                    input.error("expected the output shape in brackets after `->`, e.g. `-> [2]`")
                );
            }
            let dims;
            let bracket = bracketed!(dims in input);
            let list: Punctuated<Expr, Token![,]> =
                dims.parse_terminated(Expr::parse, Token![,])?;
            Some((list.into_iter().collect(), bracket.span.join()))
        } else {
            None
        };
        let block = if input.peek(syn::token::Brace) {
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Entry {
            name,
            kind,
            path,
            args,
            named,
            args_span,
            block,
            output,
        })
    }
}
