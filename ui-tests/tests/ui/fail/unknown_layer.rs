use staticnn::prelude::*;

network! {
    struct Net: [4] { Dense(8), Relux, Dense(2) }
}

fn main() {}
