use staticnn::prelude::*;

network! {
    // 7 rows do not split into pairs: the last row and column would be
    // silently dropped.
    struct OddImage: [4, 7, 7] { MaxPool2d(2), Flatten, Dense(2) }
}

network! {
    // Writing `floor = true` accepts PyTorch's rounding down.
    struct Floored: [4, 7, 7] { MaxPool2d(2, floor = true), Flatten, Dense(2) }
}

fn main() {
    let _ = Floored::<Cpu>::OUTPUT_SHAPE;
}
