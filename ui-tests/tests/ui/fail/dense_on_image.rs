use staticnn::prelude::*;

network! {
    struct Net: [1, 28, 28] { Dense(10) }
}

fn main() {}
