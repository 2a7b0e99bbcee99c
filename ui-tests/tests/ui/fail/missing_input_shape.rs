use staticnn::prelude::*;

network! {
    struct Net { Dense(2) }
}

fn main() {}
