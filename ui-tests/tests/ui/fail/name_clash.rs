use staticnn::prelude::*;

network! {
    // The unnamed Dense is field `_0` (PyTorch's `0`); naming another layer
    // so clashes.
    struct Net: [4] { Dense(8), _0: Dense(2) }
}

fn main() {}
