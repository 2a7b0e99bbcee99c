use staticnn::prelude::*;

network! {
    struct Net: [4] {}
}

fn main() {}
