//! What the macro costs as networks grow: the generated code must grow
//! linearly with the number of layers (checked by counting tokens, which
//! does not depend on the machine), and `expansion_time` reports how long
//! expansion takes:
//!
//! ```text
//! cargo test -p staticnn-macros --release -- --ignored --nocapture expansion_time
//! ```

use std::time::Instant;

/// A network of `layers` layers: Dense and ReLU in turn, named every
/// third, with a BatchNorm every tenth, as a deep MLP would be declared.
fn source(layers: usize) -> String {
    let mut body = String::new();
    for i in 0..layers {
        let layer = match i % 10 {
            9 => "BatchNorm".to_string(),
            n if n % 2 == 0 => format!("Dense({})", 16 + (i % 7) * 8),
            _ => "Relu".to_string(),
        };
        if i % 3 == 0 {
            body.push_str(&format!("l{i}: {layer},\n"));
        } else {
            body.push_str(&format!("{layer},\n"));
        }
    }
    format!("pub struct Deep: [32] {{\n{body}}}")
}

/// Tokens in the expansion of a `layers`-layer network.
fn expanded_tokens(layers: usize) -> usize {
    let input: crate::parse::Input = syn::parse_str(&source(layers)).expect("the test DSL parses");
    let out = crate::expand_input(input);
    let text = out.to_string();
    assert!(!text.contains("compile_error"), "{layers} layers: {text}");
    count(out)
}

fn count(tokens: proc_macro2::TokenStream) -> usize {
    tokens
        .into_iter()
        .map(|t| match t {
            proc_macro2::TokenTree::Group(g) => 1 + count(g.stream()),
            _ => 1,
        })
        .sum()
}

#[test]
fn expansion_grows_linearly_with_layers() {
    let (t50, t100, t200) = (
        expanded_tokens(50),
        expanded_tokens(100),
        expanded_tokens(200),
    );
    // Doubling the layers at most doubles the code, plus the layer names
    // growing by a digit.
    assert!(
        t100 as f64 <= 2.1 * t50 as f64,
        "50 layers: {t50} tokens, 100: {t100}"
    );
    assert!(
        t200 as f64 <= 2.1 * t100 as f64,
        "100 layers: {t100} tokens, 200: {t200}"
    );
}

#[test]
#[ignore = "a timing report, not a check: run with --ignored --nocapture"]
fn expansion_time() {
    for layers in [10, 50, 100, 200, 400] {
        let text = source(layers);
        let mut best = f64::INFINITY;
        let mut tokens = 0;
        for _ in 0..5 {
            let start = Instant::now();
            let input: crate::parse::Input = syn::parse_str(&text).unwrap();
            let out = crate::expand_input(input);
            best = best.min(start.elapsed().as_secs_f64());
            tokens = count(out);
        }
        println!(
            "{layers:>4} layers: {:>7.2} ms to parse, check and expand, {tokens} tokens ({:.1} us per layer)",
            best * 1e3,
            best * 1e6 / layers as f64
        );
    }
}
