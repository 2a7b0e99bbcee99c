use staticnn::prelude::*;

// Every mistake is reported, not only the first.
network! {
    struct Net: [1, 8, 8] { Dense(10), Relu(1), Dropout(2.0), Sigmod }
}

fn main() {}
