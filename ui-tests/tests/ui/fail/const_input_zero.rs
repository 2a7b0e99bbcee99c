use staticnn::prelude::*;

const FEATURES: usize = 0;

network! {
    struct Net: [FEATURES] { Dense(2) }
}

fn main() {}
