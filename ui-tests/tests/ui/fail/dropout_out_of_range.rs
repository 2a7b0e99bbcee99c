use staticnn::prelude::*;

network! {
    struct Net: [4] { Dense(8), Dropout(1.5), Dense(2) }
}

fn main() {}
