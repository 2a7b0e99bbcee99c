use staticnn::prelude::*;

const K: usize = 9;

network! {
    // A const kernel too large for its input is one error at the layer:
    // the layers after it, whose sizes it makes meaningless, add none.
    struct TooBig: [1, 8, 8] { Conv2d(8, kernel = K), MaxPool2d(2), Flatten, Dense(10) }
}

fn main() {}
