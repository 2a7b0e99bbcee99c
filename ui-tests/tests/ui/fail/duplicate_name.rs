use staticnn::prelude::*;

network! {
    struct Net: [4] { fc: Dense(8), Relu, fc: Dense(2) }
}

fn main() {}
