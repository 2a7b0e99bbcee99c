use staticnn::prelude::*;

network! {
    struct Net: [4] { Dense(8), Dropout, Dense(2) }
}

fn main() {}
