use staticnn::prelude::*;

network! {
    // A network used before it is declared.
    struct Outer: [4] { inner: Inner, Dense(2) }
    struct Inner: [4] { Dense(3) }
}

network! {
    // Keras' `activation` option: activations are layers.
    struct KerasStyle: [4] { Dense(8, activation = "relu"), Dense(2) }
}

network! {
    // Arguments in brackets.
    struct Brackets: [4] { Dense[8] }
}

fn main() {}
