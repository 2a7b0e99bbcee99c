use staticnn::prelude::*;

network! {
    struct FlatPixels: [784] { Conv2d(6, kernel = 5), Flatten, Dense(10) }
    struct NoChannels: [28, 28] { MaxPool2d(2) }
    struct AfterFlatten: [1, 8, 8] { Flatten, GlobalAvgPool }
}

fn main() {}
