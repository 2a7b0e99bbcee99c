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

/// Data that can train or evaluate a network taking samples of shape `X`
/// with a loss whose targets are `Y`: a [`Dataset<X, Y>`]. It exists for
/// its message: given a dataset of the wrong shapes, [`fit`] and
/// [`evaluate`] fail with one error that names both, not with a mismatch
/// between two generic types.
///
/// [`Dataset<X, Y>`]: crate::Dataset
/// [`fit`]: crate::fit
/// [`evaluate`]: crate::evaluate
#[diagnostic::on_unimplemented(
    message = "this network and loss need a `Dataset<{X}, {Y}>`, but were given `{Self}`",
    label = "needs samples of shape `{X}` with targets `{Y}`",
    note = "the first type is one sample, the network's input: a flat dataset becomes images with `.reshape::<Rank3<C, H, W>>()`, and images become flat with `.reshape::<Rank1<N>>()`",
    note = "the second is the loss's target: `ClassIndex` (one class number per sample) for SoftmaxCrossEntropy, the network's output shape for Mse and BinaryCrossEntropy"
)]
pub trait DataFor<X: crate::Shape, Y: crate::Shape> {
    /// The dataset.
    fn dataset(&self) -> &crate::Dataset<X, Y>;
}

impl<X: crate::Shape, Y: crate::Shape> DataFor<X, Y> for crate::Dataset<X, Y> {
    fn dataset(&self) -> &crate::Dataset<X, Y> {
        self
    }
}

/// A batch of samples of shape `S` on backend `B`: a [`Tensor<B, S>`].
/// What the generated `forward`, `infer` and `backward` and the training
/// steps take for inputs, targets and output gradients. Like [`DataFor`],
/// it exists for its message: a tensor of the wrong shape or on the wrong
/// device is one error naming both, with the fix.
///
/// [`Tensor<B, S>`]: crate::Tensor
#[diagnostic::on_unimplemented(
    message = "expected a batch `Tensor<{B}, {S}>` here, but was given `{Self}`",
    label = "needs a batch of `{S}` on `{B}`",
    note = "a batch on another device moves with `x.to_device(&device)?`; one of the same size but another shape (flat against images) changes with `x.reshape::<{S}>()`"
)]
pub trait BatchFor<B: crate::Backend, S: crate::Shape> {
    /// The tensor.
    fn tensor(&self) -> &crate::Tensor<B, S>;
}

impl<B: crate::Backend, S: crate::Shape> BatchFor<B, S> for crate::Tensor<B, S> {
    fn tensor(&self) -> &crate::Tensor<B, S> {
        self
    }
}
