//! "Did you mean" for misspelt layers and options, and the staticnn
//! spelling of PyTorch's and Keras' layers.

use super::args::expr_text;
use crate::parse::Entry;

/// Every layer the DSL knows.
pub const LAYERS: &[&str] = &[
    "Dense",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "GlobalAvgPool",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "BatchNorm",
    "Residual",
    "Dropout",
    "Flatten",
    "Step",
    "Sigmoid",
    "Tanh",
    "Relu",
    "LeakyRelu",
    "Identity",
    "Softmax",
    "Custom",
];

/// Other frameworks' names for our layers.
const ALIASES: &[(&str, &str)] = &[
    ("Linear", "Dense"),
    ("FullyConnected", "Dense"),
    ("Conv2D", "Conv2d"),
    ("Convolution2D", "Conv2d"),
    ("MaxPooling2D", "MaxPool2d"),
    ("MaxPool", "MaxPool2d"),
    ("AveragePooling2D", "AvgPool2d"),
    ("AvgPool", "AvgPool2d"),
    ("GlobalAveragePooling2D", "GlobalAvgPool"),
    ("BatchNorm1d", "BatchNorm"),
    ("BatchNorm2d", "BatchNorm"),
    ("BatchNormalization", "BatchNorm"),
    ("ReLU", "Relu"),
    ("LeakyReLU", "LeakyRelu"),
    ("Logistic", "Sigmoid"),
    ("Heaviside", "Step"),
];

/// The staticnn spelling of a layer written as in PyTorch or Keras, when
/// the arguments say which it is (`Linear(784, 128)` is `Dense(128)`,
/// `Conv2d(1, 16, 3)` is `Conv2d(16, kernel = 3)`), and whether PyTorch's
/// input size was dropped, since staticnn infers it. `None` for a
/// staticnn spelling.
pub fn foreign_spelling(entry: &Entry) -> Option<(String, bool)> {
    let kind = entry.kind.to_string();
    let alias = ALIASES
        .iter()
        .find(|(alias, _)| *alias == kind)
        .map(|(_, ours)| *ours);
    let ours = alias.unwrap_or(kind.as_str());
    let args: Vec<String> = entry.args.iter().map(expr_text).collect();
    let named = |key: &str| {
        entry.named.iter().find(|(k, _)| k == key).map(|(_, v)| {
            // Keras writes `padding="same"`.
            expr_text(v).trim_matches('"').to_string()
        })
    };
    // Options renamed: (theirs, ours).
    let options = |keys: &[(&str, &str)]| -> String {
        keys.iter()
            .filter_map(|(theirs, ours)| named(theirs).map(|v| format!(", {ours} = {v}")))
            .collect()
    };
    let weight_options = [("bias", "bias"), ("use_bias", "bias")];
    let window_options = [
        ("stride", "stride"),
        ("strides", "stride"),
        ("padding", "padding"),
    ];
    let spelling = match ours {
        // PyTorch's Linear(in_features, out_features); Keras' Dense(units).
        "Dense" => {
            let (out, inferred) = match args.as_slice() {
                [_, out] => (out.clone(), true),
                [out] if alias.is_some() => (out.clone(), false),
                [] => (
                    named("out_features").or_else(|| named("units"))?,
                    named("in_features").is_some(),
                ),
                _ => return None,
            };
            (
                format!("Dense({out}{})", options(&weight_options)),
                inferred,
            )
        }
        // PyTorch's Conv2d(in, out, kernel_size, stride, padding); Keras'
        // Conv2D(filters, kernel_size, strides, padding).
        "Conv2d" => {
            let kernel = named("kernel_size");
            let (out, rest, inferred) = match (alias.is_some(), args.as_slice()) {
                (true, [out, rest @ ..]) => (out.clone(), rest, false),
                (true, []) => (named("filters")?, &[][..], false),
                (false, [_, out, rest @ ..]) if !rest.is_empty() || kernel.is_some() => {
                    (out.clone(), rest, true)
                }
                (false, []) => (
                    named("out_channels")?,
                    &[][..],
                    named("in_channels").is_some(),
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
            text += &options(&window_options);
            text += &options(&weight_options);
            (text + ")", inferred)
        }
        // PyTorch's BatchNorm2d(num_features): the channels are inferred.
        "BatchNorm" if !args.is_empty() || named("num_features").is_some() => {
            let o = options(&[("momentum", "momentum"), ("eps", "eps")]);
            let o = if o.is_empty() {
                String::new()
            } else {
                format!("({})", &o[2..])
            };
            (format!("BatchNorm{o}"), true)
        }
        "MaxPool2d" | "AvgPool2d"
            if named("kernel_size").is_some() || named("pool_size").is_some() =>
        {
            let k = named("kernel_size").or_else(|| named("pool_size"))?;
            (format!("{ours}({k}{})", options(&window_options)), false)
        }
        "LeakyRelu" if named("negative_slope").is_some() => {
            (format!("LeakyRelu({})", named("negative_slope")?), false)
        }
        _ if alias.is_some() => {
            // The arguments as written, after our name.
            let written = super::args::display(entry);
            (format!("{ours}{}", &written[kind.len()..]), false)
        }
        _ => return None,
    };
    Some(spelling)
}

/// The error for a layer written as in PyTorch or Keras, if it is one.
pub fn foreign_layer(entry: &Entry) -> Option<String> {
    let (ours, inferred) = foreign_spelling(entry)?;
    let written = super::args::display(entry);
    let kind = entry.kind.to_string();
    let has = |keys: &[&str]| {
        entry
            .named
            .iter()
            .any(|(k, _)| keys.iter().any(|key| k == key))
    };
    let whose = if KERAS.contains(&kind.as_str())
        || has(&["units", "filters", "pool_size", "strides", "use_bias"])
    {
        "Keras'"
    } else if PYTORCH.contains(&kind.as_str())
        || inferred
        || has(&["kernel_size", "negative_slope", "out_features"])
    {
        "PyTorch's"
    } else {
        "another framework's"
    };
    let why = if inferred {
        "; staticnn infers each layer's input size from the layer before"
    } else {
        ""
    };
    Some(format!(
        "`{written}` is {whose} spelling{why}: write `{ours}`"
    ))
}

/// Layer names that are PyTorch's and Keras' own.
const PYTORCH: &[&str] = &["Linear", "ReLU", "LeakyReLU", "BatchNorm1d", "BatchNorm2d"];
const KERAS: &[&str] = &[
    "Conv2D",
    "Convolution2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "BatchNormalization",
];

/// Other frameworks' names for options: (theirs, ours, whose).
pub const FOREIGN_OPTIONS: &[(&str, &str, &str)] = &[
    ("kernel_size", "kernel", "PyTorch's"),
    ("negative_slope", "slope", "PyTorch's"),
    ("ceil_mode", "floor", "PyTorch's"),
    ("pool_size", "kernel", "Keras'"),
    ("strides", "stride", "Keras'"),
    ("use_bias", "bias", "Keras'"),
    ("rate", "p", "Keras'"),
    ("epsilon", "eps", "Keras'"),
];

/// The message for an unknown layer `name`; `networks` are the networks
/// declared earlier in the same `network!` (usable as layers).
pub fn unknown_layer(name: &str, networks: &[String]) -> String {
    let candidates: Vec<&str> = LAYERS
        .iter()
        .copied()
        .chain(networks.iter().map(String::as_str))
        .collect();
    let suggestion = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, ours)| *ours)
        .or_else(|| {
            candidates
                .iter()
                .copied()
                .find(|l| l.eq_ignore_ascii_case(name))
        })
        .or_else(|| {
            candidates
                .iter()
                .copied()
                .find(|l| edit_distance(l, name) <= 2)
        });
    match suggestion {
        Some(s) => format!("unknown layer `{name}`; did you mean `{s}`?"),
        None => format!(
            "unknown layer `{name}`; expected one of {}, or a network: one declared earlier in this `network!` block, or one from elsewhere with its output shape, `{name} -> [..]`",
            LAYERS.join(", ")
        ),
    }
}

/// Levenshtein distance.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + (ca != cb) as usize).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
