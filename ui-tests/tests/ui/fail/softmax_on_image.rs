use staticnn::prelude::*;

network! {
    struct Net: [3, 4, 4] { Relu, Softmax }
}

fn main() {}
