//! Layers of your own inside `network!`: `gelu: Custom(Gelu)` places the
//! layer that `Gelu`'s [`Build`] gives for the input shape at that point.

use super::Layer;
use crate::backend::Backend;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::Result;

/// How `network!` makes a layer of your own for the place it is written,
/// `Custom(Gelu)` in a list of layers (`Custom(Pool) -> [16]` for one
/// that changes the shape). `I` is the shape the layer before gives; an
/// implementation for every shape the layer accepts (`impl<B: Backend,
/// S: Shape> Build<B, S> for Gelu`, or only `Rank1<N>` for a layer on flat
/// features) lets the macro place it there, and anywhere else is one
/// compile error at `Custom`.
///
/// The layer's parameters are then saved, loaded, optimised and counted
/// with the network's, under the name of its place (`gelu.weight`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take inputs of shape `{I}` here",
    label = "placed where its input is `{I}`",
    note = "`network!` builds a layer of your own through `staticnn::layers::Build<B, Input>`; implement it for `{Self}` with this input shape"
)]
pub trait Build<B: Backend, I: Shape> {
    /// The layer, taking inputs of shape `I`.
    type Layer: Layer<B, Input = I>;

    /// Number of learnable values of the layer, for the network's
    /// `NUM_PARAMS`.
    const NUM_PARAMS: usize;

    /// A new layer on `device`, drawing initial weights from `rng` (the
    /// network's seeded generator).
    fn build(device: &B, rng: &mut Rng) -> Result<Self::Layer>;
}
