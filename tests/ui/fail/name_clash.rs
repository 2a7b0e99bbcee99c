use staticnn::prelude::*;

network! {
    // The unnamed Dense is field `layer0`; naming another layer so clashes.
    struct Net: [4] { Dense(8), layer0: Dense(2) }
}

fn main() {}
