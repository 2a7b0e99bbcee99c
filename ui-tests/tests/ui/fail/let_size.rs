use staticnn::prelude::*;

fn main() {
    // Sizes are compile-time constants: a `let` variable used twice is one
    // error at its first use.
    let hidden = 16;
    network! {
        struct Net: [4] { Dense(hidden), Relu, Dense(hidden), Relu, Dense(2) }
    }
    let _ = hidden;
}
