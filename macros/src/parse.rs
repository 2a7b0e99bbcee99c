//! The grammar of `network!`, parsed with syn. Every node keeps the span of
//! the user's tokens so that later errors point at them.
//!
//! ```text
//! input   := network+
//! network := attr* vis "struct" ident ":" "[" dim ("," dim)* ","? "]" "{" entries "}"
//! entries := (entry ("," entry)* ","?)?
//! entry   := (ident ":")? ident ("(" arg ("," arg)* ","? ")")?
//! arg     := expr | ident "=" expr
//! ```
//!
//! The parser only checks the grammar; what the layers and numbers mean is
//! checked in `shape.rs`.

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
    /// Positional arguments, in order.
    pub args: Vec<Expr>,
    /// `key = value` arguments, in order.
    pub named: Vec<(Ident, Expr)>,
    /// The parenthesised arguments, when present.
    pub args_span: Option<Span>,
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
        let body;
        let brace = braced!(body in input);
        let entries: Punctuated<Entry, Token![,]> =
            body.parse_terminated(Entry::parse, Token![,])?;
        Ok(Network {
            attrs,
            vis,
            name,
            input: input_dims.into_iter().collect(),
            input_span: bracket.span.join(),
            body_span: brace.span.join(),
            entries: entries.into_iter().collect(),
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
        let kind: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a layer, e.g. `Dense(128)`, `Relu` or `name: Dense(10)`",
            )
        })?;
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
        Ok(Entry {
            name,
            kind,
            args,
            named,
            args_span,
        })
    }
}
