use staticnn::prelude::*;

// One error per mistake: a misspelt or missing argument is not followed by
// a second error about the same layer, nor by errors about the next ones.
network! {
    struct Misspelt: [1, 8, 8] { Conv2d(4, kernal = 3), Flatten, Dense(2) }
    struct Missing: [1, 8, 8] { Conv2d(4), MaxPool2d(2), Flatten, Dense(2) }
    struct PoolMisspelt: [1, 8, 8] { MaxPool2d(kernl = 2), Dense(2) }
    struct Extra: [4] { Dense(8, 3, 2), Relu, Dense(2) }
}

fn main() {}
