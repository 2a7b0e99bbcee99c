use staticnn::prelude::*;

network! {
    struct Net: [4] { Dense, Relu }
}

fn main() {}
