use staticnn::prelude::*;

network! {
    // A 7x7 kernel on a 5x5 image with no padding.
    struct TooBig: [1, 5, 5] { Conv2d(4, kernel = 7), Flatten, Dense(2) }

    // Pooling shrinks 8x8 to 2x2, too small for the second pool's window.
    struct PooledAway: [3, 8, 8] { MaxPool2d(4), AvgPool2d(3), Flatten, Dense(2) }
}

fn main() {}
