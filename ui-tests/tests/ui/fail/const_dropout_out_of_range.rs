use staticnn::prelude::*;

const P: f32 = 1.0;

network! {
    struct Net: [4] { Dense(8), Dropout(P), Dense(2) }
}

fn main() {}
