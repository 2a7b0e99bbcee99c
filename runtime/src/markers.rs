//! What the types know about a network beyond its shapes: what its last
//! layer produces ([`Model::Head`]) and whether a gradient flows through
//! every layer ([`Model::Backprop`]). `network!` writes both; [`fit`] and
//! the training steps check them against the loss ([`evaluate`] the
//! head), so that softmax applied twice, or training through `Step`, is a
//! compile error at the call that names the fix, not a model that quietly
//! learns nothing.
//!
//! [`Model::Head`]: crate::Model::Head
//! [`Model::Backprop`]: crate::Model::Backprop
//! [`fit`]: crate::fit
//! [`evaluate`]: crate::evaluate

/// A network whose last layer is `Softmax`: its outputs are probabilities
/// that sum to one.
pub enum EndsInSoftmax {}

/// A network whose last layer is `Sigmoid`: each output is a probability.
pub enum EndsInSigmoid {}

/// A network whose last layer is anything else (Dense, Conv2d, an
/// activation other than Sigmoid, a residual block): logits or values.
pub enum EndsInOther {}

/// Gradients flow through every layer.
pub enum Differentiable {}

/// Some layer (`Step`) has no gradient.
pub enum ThroughStep {}

/// What a network's last layer produces: one of [`EndsInSoftmax`],
/// [`EndsInSigmoid`] and [`EndsInOther`].
pub trait Head {}
impl Head for EndsInSoftmax {}
impl Head for EndsInSigmoid {}
impl Head for EndsInOther {}

/// Whether gradients flow through a network: [`Differentiable`] or
/// [`ThroughStep`].
pub trait Backprop {}
impl Backprop for Differentiable {}
impl Backprop for ThroughStep {}

/// A loss that can train a network ending in `Softmax`: it takes
/// probabilities, not logits. A loss of your own that does declares it
/// with `impl TakesSoftmaxOutput for MyLoss {}`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot train a network whose last layer is `Softmax`",
    label = "this network ends in `Softmax`",
    note = "SoftmaxCrossEntropy applies softmax itself, so the network must end in logits: remove the final `Softmax` (as PyTorch's CrossEntropyLoss expects); `predict_classes` gives the same classes, and `Predictor` the probabilities",
    note = "a loss of your own that takes probabilities says so with `impl staticnn::markers::TakesSoftmaxOutput for MyLoss {{}}`"
)]
pub trait TakesSoftmaxOutput {}

/// A loss that can train a network ending in `Sigmoid`: it takes
/// probabilities, not logits.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot train a network whose last layer is `Sigmoid`",
    label = "this network ends in `Sigmoid`",
    note = "SoftmaxCrossEntropy applies softmax itself, so the network must end in logits: remove the final `Sigmoid` to pick one class of several, or keep it and use BinaryCrossEntropy for independent yes/no outputs",
    note = "a loss of your own that takes probabilities says so with `impl staticnn::markers::TakesSigmoidOutput for MyLoss {{}}`"
)]
pub trait TakesSigmoidOutput {}

/// Whether loss `L` can train a network with this [`Head`]. Any loss
/// takes logits; after `Softmax` or `Sigmoid`, only a loss that takes
/// probabilities.
#[diagnostic::on_unimplemented(
    message = "`{L}` may not fit what this network's last layer produces",
    note = "in generic code over networks, bound the network with `staticnn::markers::TrainsWith<B, {L}>`"
)]
pub trait Fits<L>: Head {}
impl<L> Fits<L> for EndsInOther {}
impl<L: TakesSoftmaxOutput> Fits<L> for EndsInSoftmax {}
impl<L: TakesSigmoidOutput> Fits<L> for EndsInSigmoid {}

/// A network gradient descent can train: no layer blocks the gradient.
#[diagnostic::on_unimplemented(
    message = "this network contains `Step`, which has no gradient, so it cannot be trained",
    label = "a network with `Step` in it",
    note = "Step's derivative is zero wherever it is defined: train with `Sigmoid` in its place, then copy the weights into the network with `Step` (`copy_weights_from` on each layer, or save and load), or set the weights by hand",
    note = "in generic code over networks, bound the network with `staticnn::markers::TrainsWith<B, TheLoss>`"
)]
pub trait Trainable: Backprop {}
impl Trainable for Differentiable {}

/// [`Differentiable`] when both sides are, for a network made of others.
pub trait And<R: Backprop>: Backprop {
    /// The combination.
    type Out: Backprop;
}
impl And<Differentiable> for Differentiable {
    type Out = Differentiable;
}
impl And<ThroughStep> for Differentiable {
    type Out = ThroughStep;
}
impl<R: Backprop> And<R> for ThroughStep {
    type Out = ThroughStep;
}

/// A network that loss `L` can train on backend `B`: what [`fit`] and the
/// training steps require beyond [`Model`], in one bound for generic code
/// (`M: TrainsWith<B, SoftmaxCrossEntropy>`). Every network `network!`
/// declares has it unless its head and the loss disagree or it holds
/// `Step`.
///
/// [`fit`]: crate::fit
/// [`Model`]: crate::Model
pub trait TrainsWith<B: crate::Backend, L>:
    crate::Model<B, Head: Fits<L>, Backprop: Trainable>
{
}

impl<B, L, M> TrainsWith<B, L> for M
where
    B: crate::Backend,
    M: crate::Model<B, Head: Fits<L>, Backprop: Trainable>,
{
}
