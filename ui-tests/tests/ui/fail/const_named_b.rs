use staticnn::prelude::*;

const B: usize = 8;

network! {
    struct Net: [4] { Dense(B) }
}

fn main() {}
