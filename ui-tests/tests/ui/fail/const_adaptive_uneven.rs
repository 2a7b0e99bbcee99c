use staticnn::prelude::*;

const SIDE: usize = 7;

network! {
    // With a const side the division is checked by rustc: 7 into 2 is uneven.
    struct Uneven: [4, SIDE, SIDE] { AdaptiveAvgPool2d(2), Flatten, Dense(2) }
}

fn main() {}
