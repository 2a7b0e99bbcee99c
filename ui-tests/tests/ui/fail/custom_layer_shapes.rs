use staticnn::layers::{Build, Identity};
use staticnn::prelude::*;
use staticnn::Rng;

/// A layer of the user's own for flat features only.
struct FlatOnly;

impl<B: Backend, const N: usize> Build<B, Rank1<N>> for FlatOnly {
    type Layer = Identity<Rank1<N>>;
    const NUM_PARAMS: usize = 0;
    fn build(_: &B, _: &mut Rng) -> Result<Self::Layer> {
        Ok(Identity::new())
    }
}

network! {
    // Placed on an image: one error at the type, naming the shape.
    struct OnImage: [1, 4, 4] { Conv2d(2, kernel = 3), Custom(FlatOnly), Flatten, Dense(2) }

    // The declared output shape is not the layer's.
    struct WrongOutput: [4] { Dense(8), Custom(FlatOnly) -> [4], Dense(2) }

    // Custom takes a type.
    struct NoType: [4] { Custom, Dense(2) }
}

fn main() {}
