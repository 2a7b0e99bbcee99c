use staticnn::prelude::*;

network! {
    struct Net: [4] { Linear(8), ReLU, Dense(2) }
}

fn main() {}
