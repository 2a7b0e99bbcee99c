use staticnn::prelude::*;

network! {
    #[companions(states = NetState)]
    struct Net: [4] { Dense(2) }
}

fn main() {}
