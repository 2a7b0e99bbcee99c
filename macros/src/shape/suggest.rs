//! "Did you mean" for misspelt layers and options.

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
