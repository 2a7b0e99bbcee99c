use staticnn::prelude::*;

network! {
    // 7 does not split into 3 equal windows: PyTorch's windows would overlap.
    struct Uneven: [4, 7, 7] { AdaptiveAvgPool2d(3), Flatten, Dense(2) }
    struct NoSize: [4, 7, 7] { AdaptiveMaxPool2d, Flatten, Dense(2) }
}

fn main() {}
