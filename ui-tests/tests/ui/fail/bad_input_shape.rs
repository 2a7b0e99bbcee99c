use staticnn::prelude::*;

network! {
    struct NoDims: [] { Dense(2) }
    struct TooManyDims: [1, 2, 3, 4] { Flatten, Dense(2) }
    struct ZeroDim: [0] { Dense(2) }
    struct FloatDim: [2.5] { Dense(2) }
}

fn main() {}
