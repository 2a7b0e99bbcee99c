use staticnn::prelude::*;

network! {
    struct Net<T>: [4] { Dense(2) }
}

fn main() {}
