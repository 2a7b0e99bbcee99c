//! The CUDA kernels of [`super`], whose source is `pool.cu` beside this
//! file.

use super::*;

crate::backend::cuda::kernels!("pool");

impl PoolOp for crate::backend::Cuda {
    fn max_pool2d_forward(&self, g: &Geom2d, x: &Self::Buf, y: &mut Self::Buf) -> Result<()> {
        use crate::backend::cuda::Grid;
        check_on("cuda", g, x.len(), y.len())?;
        let geom = g.kernel_arg()?;
        let grid = Grid::elements(g.out_len());
        self.launch(
            &CUDA,
            "max_pool_forward",
            grid,
            &[&geom, &x.ptr(), &y.ptr()],
        )
    }

    fn max_pool2d_backward(
        &self,
        g: &Geom2d,
        x: &Self::Buf,
        y: &Self::Buf,
        dy: &Self::Buf,
        dx: &mut Self::Buf,
        _scratch: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::Grid;
        check_on("cuda", g, x.len(), y.len())?;
        check_on("cuda", g, dx.len(), dy.len())?;
        let geom = g.kernel_arg()?;
        // One thread per input value: a gather writes every value of dx.
        let grid = Grid::elements(dx.len());
        let args: [&dyn crate::backend::cuda::KernelArg; 5] =
            [&geom, &x.ptr(), &y.ptr(), &dy.ptr(), &dx.ptr()];
        self.launch(&CUDA, "max_pool_backward", grid, &args)
    }

    fn avg_pool2d_forward(&self, g: &Geom2d, x: &Self::Buf, y: &mut Self::Buf) -> Result<()> {
        use crate::backend::cuda::Grid;
        check_on("cuda", g, x.len(), y.len())?;
        let geom = g.kernel_arg()?;
        let grid = Grid::elements(g.out_len());
        self.launch(
            &CUDA,
            "avg_pool_forward",
            grid,
            &[&geom, &x.ptr(), &y.ptr()],
        )
    }

    fn avg_pool2d_backward(&self, g: &Geom2d, dy: &Self::Buf, dx: &mut Self::Buf) -> Result<()> {
        use crate::backend::cuda::Grid;
        check_on("cuda", g, dx.len(), dy.len())?;
        let geom = g.kernel_arg()?;
        let grid = Grid::elements(dx.len());
        self.launch(
            &CUDA,
            "avg_pool_backward",
            grid,
            &[&geom, &dy.ptr(), &dx.ptr()],
        )
    }
}
