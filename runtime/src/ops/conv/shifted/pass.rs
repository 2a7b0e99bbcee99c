//! [`Pass`]: one stride-1 correlation over padded planes, the shape that
//! every kernel of the shifted path works on.

use super::{Geom2d, TILE_ONE};

/// One stride-1 correlation over padded planes: `chans` planes of
/// `rows x cols` (the input padded by `pad`), `outs` output channels of
/// `out_h x out_w`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pass {
    pub(super) chans: usize,
    pub(super) in_h: usize,
    pub(super) in_w: usize,
    pub(super) pad: (usize, usize),
    pub(super) kernel: (usize, usize),
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) out_h: usize,
    pub(super) out_w: usize,
    /// `outs` rounded up to whole vector blocks, the width of the weight
    /// gradient's rows.
    pub(super) outs_padded: usize,
    /// The width of [`correlate`](super::correlate::correlate)'s weight rows: `outs` rounded up to a
    /// multiple of 8 (whole channel tiles) when it runs over positions,
    /// else to whole vector blocks.
    pub(super) width: usize,
    /// Vector registers per block of output channels (1 or 2).
    pub(super) vectors: usize,
    /// Output channels, and the kernels' vector width in values.
    pub(super) outs: usize,
    pub(super) lanes: usize,
}

impl Pass {
    pub(super) fn new(
        chans: usize,
        (in_h, in_w): (usize, usize),
        pad: (usize, usize),
        kernel: (usize, usize),
        outs: usize,
        lanes: usize,
    ) -> Self {
        let (rows, cols) = (in_h + 2 * pad.0, in_w + 2 * pad.1);
        let vectors = if outs <= lanes { 1 } else { 2 };
        Pass {
            chans,
            in_h,
            in_w,
            pad,
            kernel,
            rows,
            cols,
            out_h: rows - kernel.0 + 1,
            out_w: cols - kernel.1 + 1,
            outs_padded: outs.next_multiple_of(lanes * vectors),
            width: if by_positions(lanes, outs) {
                outs.next_multiple_of(8)
            } else {
                outs.next_multiple_of(lanes * vectors)
            },
            vectors,
            outs,
            lanes,
        }
    }

    /// The forward pass of `g`.
    pub(super) fn forward(g: &Geom2d, lanes: usize) -> Self {
        Pass::new(
            g.in_c,
            (g.in_h, g.in_w),
            g.padding,
            g.kernel,
            g.out_c,
            lanes,
        )
    }

    /// The input gradient of `g`: the output gradient padded so that a
    /// full correlation with the flipped kernel gives the input's size.
    pub(super) fn input_grad(g: &Geom2d, lanes: usize) -> Self {
        let (kh, kw) = g.kernel;
        let pad = (kh - 1 - g.padding.0, kw - 1 - g.padding.1);
        Pass::new(g.out_c, (g.out_h, g.out_w), pad, g.kernel, g.in_c, lanes)
    }

    pub(super) fn plane(&self) -> usize {
        self.rows * self.cols
    }

    pub(super) fn taps(&self) -> usize {
        self.chans * self.kernel.0 * self.kernel.1
    }

    pub(super) fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Calls `f(tap, offset)` for each tap in order, with where it starts
    /// in the padded planes: [`Pass::tap_offset`] without its divisions,
    /// for the kernels' inner loops. (Nested loops calling a closure; an
    /// iterator of `flat_map`s made the kernels half as fast.)
    #[inline(always)]
    pub(super) fn for_each_tap(&self, mut f: impl FnMut(usize, usize)) {
        let (kh, kw) = self.kernel;
        let mut tap = 0;
        for c in 0..self.chans {
            for i in 0..kh {
                let row = c * self.plane() + i * self.cols;
                for j in 0..kw {
                    f(tap, row + j);
                    tap += 1;
                }
            }
        }
    }

    /// Where tap `t` starts in the padded planes.
    pub(super) fn tap_offset(&self, t: usize) -> usize {
        let (kh, kw) = self.kernel;
        (t / (kh * kw)) * self.plane() + (t / kw % kh) * self.cols + t % kw
    }

    /// Where output position `p` (row-major) reads in a padded plane,
    /// relative to a tap's start.
    pub(super) fn position_offset(&self, p: usize) -> usize {
        p / self.out_w * self.cols + p % self.out_w
    }

    /// Positions of the grid that [`correlate`](super::correlate::correlate) computes: every output
    /// row at the padded planes' pitch, so `kw - 1` columns a row past the
    /// real ones (their values are never read), rounded up to whole
    /// vectors (or, vectorised over channels, whole tiles of positions). On
    /// this grid a run of positions is one contiguous run of the padded
    /// planes for every tap.
    pub(super) fn grid(&self) -> usize {
        let tile = if self.by_positions() {
            self.lanes
        } else {
            TILE_ONE
        };
        (self.out_h * self.cols).next_multiple_of(tile)
    }

    /// Whether [`correlate`](super::correlate::correlate) runs the pass vectorised over positions
    /// (writing `out[o][p]`) rather than over channels (`out[p][o]`).
    ///
    /// Why both: with AVX-512's 32 registers a tile of 8 channels by 3
    /// vectors of positions takes 11 loads for 24 multiply-adds, and ran
    /// 1.4x the channel-vectorised kernel on a ResNet's 16-channel layers
    /// (one broadcast a multiply-add); with AVX2's 16 a 16-channel block
    /// fills two registers and the channel-vectorised tile (8 loads for 12)
    /// ran 1.25x the best position-vectorised one. Passes of at most 6
    /// channels (LeNet's input gradient) go over positions on every path,
    /// since channel vectors would be mostly padding.
    pub(super) fn by_positions(&self) -> bool {
        by_positions(self.lanes, self.outs)
    }

    /// Values of the output buffer the pass's kernel writes.
    pub(super) fn out_len(&self) -> usize {
        if self.by_positions() {
            self.outs * self.grid()
        } else {
            self.grid() * self.outs_padded
        }
    }

    /// Length of the padded planes plus the slack that the grid's last
    /// tile reads past the last plane.
    pub(super) fn src_len(&self) -> usize {
        let grid = self.grid();
        self.chans * self.plane() + grid - self.out_h * self.cols + self.kernel.1 - 1
    }

    /// Copy one image (`chans` planes of `in_h x in_w`) into `dst` (the
    /// padded planes), centred in zeros.
    pub(super) fn pad_into(&self, image: &[f32], dst: &mut [f32]) {
        let (ph, pw) = self.pad;
        dst.fill(0.0);
        for (plane, src) in dst
            .chunks_exact_mut(self.plane())
            .zip(image.chunks_exact(self.in_h * self.in_w))
        {
            for (y, line) in src.chunks_exact(self.in_w).enumerate() {
                plane[(y + ph) * self.cols + pw..][..self.in_w].copy_from_slice(line);
            }
        }
    }
}

/// [`Pass::by_positions`] for a pass of `outs` channels on `lanes`-wide
/// vectors.
pub(super) fn by_positions(lanes: usize, outs: usize) -> bool {
    lanes == 16 || outs <= 6
}
