use staticnn::prelude::*;

const HIDDEN: usize = 0;

network! {
    struct Net: [4] { Dense(HIDDEN), Relu, Dense(2) }
}

fn main() {}
