//! Pooling layers: max and average over windows, and global average over
//! each whole channel.

use super::{no_forward, no_params, scratch, Buffers, Layer};
use crate::backend::Device;
use crate::ops::window::Geom2d;
use crate::ops::Backend;
use crate::shape::{Rank1, Rank3, Shape};
use crate::tensor::Tensor;
use crate::Result;
use std::marker::PhantomData;

/// The window of a pooling layer: size, stride and padding, each
/// `(rows, cols)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolWindow {
    /// `(rows, cols)` of the window.
    pub kernel: (usize, usize),
    /// `(rows, cols)` the window moves by.
    pub stride: (usize, usize),
    /// `(rows, cols)` of padding on each side (at most half the window).
    pub padding: (usize, usize),
}

impl PoolWindow {
    /// A square window that tiles the input: stride equal to the size.
    pub fn square(size: usize) -> Self {
        PoolWindow {
            kernel: (size, size),
            stride: (size, size),
            padding: (0, 0),
        }
    }
}

/// The geometry of a pooling layer from `[C, H, W]` to `[C, OH, OW]`.
fn geom(
    (c, h, w): (usize, usize, usize),
    (oh, ow): (usize, usize),
    win: &PoolWindow,
    batch: usize,
) -> Geom2d {
    Geom2d {
        batch,
        in_c: c,
        in_h: h,
        in_w: w,
        out_c: c,
        out_h: oh,
        out_w: ow,
        kernel: win.kernel,
        stride: win.stride,
        padding: win.padding,
    }
}

macro_rules! pool_layer {
    ($(#[$doc:meta])* $name:ident, $op:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<I, O> {
            window: PoolWindow,
            _shapes: PhantomData<fn(I) -> O>,
        }

        impl<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>
            $name<Rank3<C, H, W>, Rank3<C, OH, OW>>
        {
            /// Fails if the window does not turn `H x W` into `OH x OW`.
            pub fn new(window: PoolWindow) -> Result<Self> {
                geom((C, H, W), (OH, OW), &window, 1).check($op)?;
                Ok($name { window, _shapes: PhantomData })
            }

            /// The window, stride and padding.
            pub fn window(&self) -> PoolWindow {
                self.window
            }

            fn geom(&self, batch: usize) -> Geom2d {
                geom((C, H, W), (OH, OW), &self.window, batch)
            }
        }
    };
}

pool_layer!(
    /// Max pooling, as `torch.nn.MaxPool2d` (padding never wins).
    MaxPool2d,
    "MaxPool2d"
);
pool_layer!(
    /// Average pooling, as `torch.nn.AvgPool2d` (padding counts as zeros).
    AvgPool2d,
    "AvgPool2d"
);

/// MaxPool2d's buffers: output, input gradient, and backward scratch.
#[derive(Debug)]
pub struct MaxPoolState<B: Device, I: Shape, O: Shape> {
    io: Buffers<B, I, O>,
    scratch: Option<B::Buf>,
}

impl<B: Device, I: Shape, O: Shape> Default for MaxPoolState<B, I, O> {
    fn default() -> Self {
        MaxPoolState {
            io: Buffers::default(),
            scratch: None,
        }
    }
}

impl<
        B: Backend,
        const C: usize,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
    > Layer<B> for MaxPool2d<Rank3<C, H, W>, Rank3<C, OH, OW>>
{
    type Input = Rank3<C, H, W>;
    type Output = Rank3<C, OH, OW>;
    type State = MaxPoolState<B, Self::Input, Self::Output>;
    no_params!(B);

    fn infer<'s>(
        &self,
        x: &Tensor<B, Self::Input>,
        state: &'s mut Self::State,
    ) -> Result<&'s Tensor<B, Self::Output>> {
        let y = Tensor::reuse(&mut state.io.y, x.device(), x.batch())?;
        x.device()
            .max_pool2d_forward(&self.geom(x.batch()), x.buf(), y.buf_mut())?;
        Ok(y)
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, Self::Output>> {
        state.io.output()
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, Self::Input>,
        dy: &Tensor<B, Self::Output>,
        state: &'s mut Self::State,
        _grads: &mut (),
    ) -> Result<&'s Tensor<B, Self::Input>> {
        let dev = x.device();
        let y = state.io.y.as_ref().ok_or_else(no_forward)?;
        let work = scratch(&mut state.scratch, dev)?;
        let dx = Tensor::reuse(&mut state.io.dx, dev, x.batch())?;
        dev.max_pool2d_backward(
            &self.geom(x.batch()),
            x.buf(),
            y.buf(),
            dy.buf(),
            dx.buf_mut(),
            work,
        )?;
        Ok(dx)
    }
}

impl<
        B: Backend,
        const C: usize,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
    > Layer<B> for AvgPool2d<Rank3<C, H, W>, Rank3<C, OH, OW>>
{
    type Input = Rank3<C, H, W>;
    type Output = Rank3<C, OH, OW>;
    type State = Buffers<B, Self::Input, Self::Output>;
    no_params!(B);

    fn infer<'s>(
        &self,
        x: &Tensor<B, Self::Input>,
        state: &'s mut Self::State,
    ) -> Result<&'s Tensor<B, Self::Output>> {
        let y = Tensor::reuse(&mut state.y, x.device(), x.batch())?;
        x.device()
            .avg_pool2d_forward(&self.geom(x.batch()), x.buf(), y.buf_mut())?;
        Ok(y)
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, Self::Output>> {
        state.output()
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, Self::Input>,
        dy: &Tensor<B, Self::Output>,
        state: &'s mut Self::State,
        _grads: &mut (),
    ) -> Result<&'s Tensor<B, Self::Input>> {
        let dx = Tensor::reuse(&mut state.dx, x.device(), x.batch())?;
        x.device()
            .avg_pool2d_backward(&self.geom(x.batch()), dy.buf(), dx.buf_mut())?;
        Ok(dx)
    }
}

/// The mean of each channel: `[C, H, W]` to `[C]` (Keras'
/// `GlobalAveragePooling2D`; PyTorch's `AdaptiveAvgPool2d(1)` followed by
/// `flatten`).
#[derive(Debug, Clone, Copy, Default)]
pub struct GlobalAvgPool<I> {
    _shape: PhantomData<I>,
}

impl<I> GlobalAvgPool<I> {
    /// The layer (it holds nothing).
    pub fn new() -> Self {
        GlobalAvgPool {
            _shape: PhantomData,
        }
    }
}

impl<const C: usize, const H: usize, const W: usize> GlobalAvgPool<Rank3<C, H, W>> {
    /// An average pool whose window is the whole image.
    fn geom(batch: usize) -> Geom2d {
        let window = PoolWindow {
            kernel: (H, W),
            stride: (1, 1),
            padding: (0, 0),
        };
        geom((C, H, W), (1, 1), &window, batch)
    }
}

impl<B: Backend, const C: usize, const H: usize, const W: usize> Layer<B>
    for GlobalAvgPool<Rank3<C, H, W>>
{
    type Input = Rank3<C, H, W>;
    type Output = Rank1<C>;
    type State = Buffers<B, Self::Input, Self::Output>;
    no_params!(B);

    fn infer<'s>(
        &self,
        x: &Tensor<B, Self::Input>,
        state: &'s mut Self::State,
    ) -> Result<&'s Tensor<B, Rank1<C>>> {
        let y = Tensor::reuse(&mut state.y, x.device(), x.batch())?;
        x.device()
            .avg_pool2d_forward(&Self::geom(x.batch()), x.buf(), y.buf_mut())?;
        Ok(y)
    }

    fn output(state: &Self::State) -> Result<&Tensor<B, Rank1<C>>> {
        state.output()
    }

    fn backward<'s>(
        &self,
        x: &Tensor<B, Self::Input>,
        dy: &Tensor<B, Rank1<C>>,
        state: &'s mut Self::State,
        _grads: &mut (),
    ) -> Result<&'s Tensor<B, Self::Input>> {
        let dx = Tensor::reuse(&mut state.dx, x.device(), x.batch())?;
        x.device()
            .avg_pool2d_backward(&Self::geom(x.batch()), dy.buf(), dx.buf_mut())?;
        Ok(dx)
    }
}
