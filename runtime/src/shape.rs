//! Shapes of one sample, carried in the type system.
//!
//! A [`Tensor`](crate::Tensor) is a batch of samples; its shape type says
//! what one sample looks like. The `network!` macro infers these types for
//! every layer, so a mismatch between layers is a type error, never a
//! run-time check.

/// The static shape of one sample.
pub trait Shape: 'static + Send + Sync + Copy + Default + std::fmt::Debug {
    /// Number of `f32` values in one sample.
    const SIZE: usize;
    /// The dimensions, outermost first (`[C, H, W]` for images).
    const DIMS: &'static [usize];
}

/// A flat vector of `N` features.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rank1<const N: usize>;

/// A matrix of `R` rows and `C` columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rank2<const R: usize, const C: usize>;

/// An image of `C` channels, `H` rows and `W` columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rank3<const C: usize, const H: usize, const W: usize>;

/// One class index per sample, stored as an `f32` holding a whole number.
///
/// The target shape of classification losses such as
/// [`SoftmaxCrossEntropy`](crate::loss::SoftmaxCrossEntropy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassIndex;

impl<const N: usize> Shape for Rank1<N> {
    const SIZE: usize = N;
    const DIMS: &'static [usize] = &[N];
}

impl<const R: usize, const C: usize> Shape for Rank2<R, C> {
    const SIZE: usize = R * C;
    const DIMS: &'static [usize] = &[R, C];
}

impl<const C: usize, const H: usize, const W: usize> Shape for Rank3<C, H, W> {
    const SIZE: usize = C * H * W;
    const DIMS: &'static [usize] = &[C, H, W];
}

impl Shape for ClassIndex {
    const SIZE: usize = 1;
    const DIMS: &'static [usize] = &[];
}

/// Whether two shapes are equal, usable in `const` assertions (the code
/// `network!` generates for a network used as a layer checks its shapes
/// with it).
pub const fn same_dims(a: &[usize], b: &[usize]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `Self` is the output shape written after `->` for a network used as a
/// layer (`Expected`): the code `network!` generates for a network declared
/// elsewhere checks it with [`check_output`], so that a wrong one is one
/// error that names both shapes.
#[diagnostic::on_unimplemented(
    message = "this layer gives outputs of shape `{Self}`, not the `{Declared}` written after `->`",
    label = "gives `{Self}`",
    note = "write the real output shape after `->`"
)]
pub trait GivesDeclared<Declared> {}
impl<S: Shape> GivesDeclared<S> for S {}

/// `Self` is the input shape of a network used as a layer, fed `Given` by
/// the layer before it (see [`check_input`]).
#[diagnostic::on_unimplemented(
    message = "this network takes inputs of shape `{Self}`, but the layer before it gives `{Given}`",
    label = "takes `{Self}`",
    note = "a network that takes flat inputs needs `Flatten` before it when it follows an image layer"
)]
pub trait TakesGiven<Given> {}
impl<S: Shape> TakesGiven<S> for S {}

/// `Self` is the output shape of a layer of your own written without
/// `-> [..]`, which `network!` takes to keep its input's shape `Input`
/// (see [`check_same`]).
#[diagnostic::on_unimplemented(
    message = "this layer turns inputs of shape `{Input}` into `{Self}`, but nothing says so",
    label = "gives `{Self}`",
    note = "write the output shape after the layer: `Custom(..) -> [..]`"
)]
pub trait KeepsShape<Input> {}
impl<S: Shape> KeepsShape<S> for S {}

/// Compiles only when a layer's real output shape `Real` is its input
/// shape.
#[doc(hidden)]
pub const fn check_same<Real: KeepsShape<Input>, Input>() {}

/// Compiles only when a network's real output shape `Real` is the one
/// declared after `->`.
#[doc(hidden)]
pub const fn check_output<Real: GivesDeclared<Declared>, Declared>() {}

/// Compiles only when a network's real input shape `Real` is the one the
/// layer before it gives.
#[doc(hidden)]
pub const fn check_input<Real: TakesGiven<Given>, Given>() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_dims() {
        assert_eq!(Rank1::<7>::SIZE, 7);
        assert_eq!(Rank2::<3, 4>::DIMS, &[3, 4]);
        assert_eq!(Rank3::<1, 28, 28>::SIZE, 784);
        assert_eq!(ClassIndex::SIZE, 1);
        assert!(same_dims(&[1, 28, 28], Rank3::<1, 28, 28>::DIMS));
        assert!(!same_dims(&[784], Rank3::<1, 28, 28>::DIMS));
        assert!(!same_dims(&[1, 28, 27], Rank3::<1, 28, 28>::DIMS));
    }
}
