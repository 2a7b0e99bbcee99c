//! A layer of the user's own in `network!`: `Custom(T)` places the layer
//! `T`'s `Build` makes for the input shape there, keeping it, or with the
//! output shape written after `->`.
use staticnn::layers::{Build, Flatten, Identity};
use staticnn::prelude::*;
use staticnn::Rng;

/// Any shape, unchanged.
struct Same;

impl<B: Backend, S: Shape> Build<B, S> for Same {
    type Layer = Identity<S>;
    const NUM_PARAMS: usize = 0;
    fn build(_: &B, _: &mut Rng) -> Result<Self::Layer> {
        Ok(Identity::new())
    }
}

/// A 2x3x3 image to 18 flat values.
struct Flat18;

impl<B: Backend> Build<B, Rank3<2, 3, 3>> for Flat18 {
    type Layer = Flatten<Rank3<2, 3, 3>, 18>;
    const NUM_PARAMS: usize = 0;
    fn build(_: &B, _: &mut Rng) -> Result<Self::Layer> {
        Ok(Flatten::new())
    }
}

network! {
    struct Net: [1, 5, 5] {
        Conv2d(2, kernel = 3), same: Custom(Same), Custom(Flat18) -> [18], Dense(3), Custom(Same),
    }
}

fn main() -> Result<()> {
    let net = Net::init(&Cpu, 0)?;
    let y = net.forward(&Tensor::<Cpu, Rank3<1, 5, 5>>::zeros(&Cpu, 2)?)?;
    assert_eq!(y.batch(), 2);
    assert_eq!(Net::<Cpu>::OUTPUT_SHAPE, &[3]);
    assert!(net.same.get::<Identity<Rank3<2, 3, 3>>>().is_some());
    Ok(())
}
