//! The CUDA kernels of [`super`], whose source is `conv.cu` beside this
//! file.

use super::*;
use crate::ops::gemm::Product;

crate::backend::cuda::kernels!("conv");

/// The GPU keeps the whole batch unfolded (`[patch, batch * out_plane]`)
/// followed by the product `[out_c, batch * out_plane]` in `cols`; the
/// backward pass keeps the reordered output gradient and the unfolded input
/// gradient in `work`. Memory is not as tight as the CPU's cache, and one
/// large product keeps the GPU busy where one per image would not.
impl ConvOp for crate::backend::Cuda {
    fn conv2d_forward(
        &self,
        g: &Geom2d,
        x: &Self::Buf,
        weight: &Self::Buf,
        bias: Option<&Self::Buf>,
        y: &mut Self::Buf,
        cols: &mut Self::Buf,
        _keep: bool,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid};
        use crate::ops::gemm::cuda::gemm_ptrs;
        g.check("Conv2d")?;
        check_len("conv2d x", g.in_len(), x.len())?;
        check_len("conv2d weight", g.out_c * g.patch(), weight.len())?;
        check_len("conv2d y", g.out_len(), y.len())?;
        if let Some(b) = bias {
            check_len("conv2d bias", g.out_c, b.len())?;
        }
        let np = g.batch * g.out_plane();
        let unfolded = g.patch() * np;
        int(unfolded + g.out_c * np)?;
        self.resize(cols, unfolded + g.out_c * np)?;
        let geom = g.kernel_arg()?;
        self.launch(
            &CUDA,
            "im2col",
            Grid::elements(unfolded),
            &[&geom, &x.ptr(), &cols.ptr()],
        )?;
        let prod = cols.ptr_at(unfolded);
        // prod [out_c, np] = W [out_c, patch] x cols [patch, np].
        gemm_ptrs(
            self,
            Product::new(g.out_c, np, g.patch()),
            weight.ptr(),
            cols.ptr(),
            prod,
        )?;
        let bias = bias.map_or(0, |b| b.ptr());
        let grid = Grid::elements(g.out_len());
        self.launch(&CUDA, "conv_output", grid, &[&geom, &prod, &bias, &y.ptr()])
    }

    fn conv2d_backward(
        &self,
        g: &Geom2d,
        x: &Self::Buf,
        cols: &Self::Buf,
        weight: &Self::Buf,
        dy: &Self::Buf,
        dx: Option<&mut Self::Buf>,
        dweight: &mut Self::Buf,
        dbias: Option<&mut Self::Buf>,
        work: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{check_len, int, Grid};
        use crate::ops::gemm::cuda::gemm_ptrs;
        let (oc, patch) = (g.out_c, g.patch());
        let np = g.batch * g.out_plane();
        check_len("conv2d x", g.in_len(), x.len())?;
        check_len("conv2d cols", (patch + oc) * np, cols.len())?;
        check_len("conv2d weight", oc * patch, weight.len())?;
        check_len("conv2d dy", g.out_len(), dy.len())?;
        check_len("conv2d dweight", oc * patch, dweight.len())?;
        if let Some(dx) = dx.as_deref() {
            check_len("conv2d dx", g.in_len(), dx.len())?;
        }
        if let Some(db) = dbias.as_deref() {
            check_len("conv2d dbias", oc, db.len())?;
        }
        let dcols_len = if dx.is_some() { patch * np } else { 0 };
        int(oc * np + dcols_len)?;
        self.resize(work, oc * np + dcols_len)?;
        let geom = g.kernel_arg()?;
        let dyp = work.ptr();
        let grid = Grid::elements(g.out_len());
        self.launch(&CUDA, "conv_grad_rows", grid, &[&geom, &dy.ptr(), &dyp])?;
        // dW [oc, patch] = dY' [oc, np] x cols^T [np, patch].
        gemm_ptrs(
            self,
            Product::new(oc, patch, np).b_transposed(),
            dyp,
            cols.ptr(),
            dweight.ptr(),
        )?;
        if let Some(db) = dbias {
            let width = int(np)?;
            self.launch(
                &CUDA,
                "row_sums",
                Grid::per_item(oc),
                &[&width, &dyp, &db.ptr()],
            )?;
        }
        if let Some(dx) = dx {
            let dcols = work.ptr_at(oc * np);
            // dcols [patch, np] = W^T [patch, oc] x dY' [oc, np].
            gemm_ptrs(
                self,
                Product::new(patch, np, oc).a_transposed(),
                weight.ptr(),
                dyp,
                dcols,
            )?;
            let grid = Grid::elements(g.in_len());
            self.launch(&CUDA, "col2im", grid, &[&geom, &dcols, &dx.ptr()])?;
        }
        Ok(())
    }
}
