//! The CUDA backend: buffers live in GPU memory, products go through cuBLAS
//! and every other op is a CUDA kernel compiled at run time by NVRTC.
//!
//! Everything is loaded dynamically (cudarc's `dynamic-loading`), so the
//! crate builds with the `cuda` feature on a machine with no CUDA toolkit
//! and no driver, and [`Cuda::new`] there returns an error that says what
//! is missing instead of panicking. cuBLAS and NVRTC are looked for beyond
//! the loader's path too, in wheel and toolkit folders ([`libs`]).
//!
//! Each op's kernels sit beside its CPU kernels (`ops/<op>.cu` next to
//! `ops/<op>.rs`) and are named by a [`Kernels`] constant in the op's
//! module. A source is compiled once per process and architecture, on the
//! first call of one of its kernels, to machine code for the device
//! ([`compile`]), and loaded once per device; later launches look
//! the function up in a table and go straight to `cuLaunchKernel`, with
//! their arguments in an array on the stack, so a training step after
//! warm-up allocates nothing on the host or on the device.
//!
//! All work goes to one stream per device, in order, so kernels never need
//! events between them; the host waits only when it reads a buffer back.

use super::Device;
use crate::{Error, Result};
use cudarc::cublas::CudaBlas;
use cudarc::driver::{
    result as driver, sys, CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DevicePtr,
};
use cudarc::nvrtc::Ptx;
use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::c_void;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

pub mod compile;
pub mod libs;

use compile::Target;
use libs::Lib;

/// One op's CUDA source: its kernels are `extern "C"` functions in `src`.
#[derive(Debug)]
pub struct Kernels {
    /// The op's name, used in messages and as the source's file name.
    pub name: &'static str,
    /// CUDA C++ source, compiled after [`PRELUDE`].
    pub src: &'static str,
}

/// `kernels!("conv")` declares `static CUDA: Kernels` for `conv.cu`, the
/// source beside the op's module.
macro_rules! kernels {
    ($name:literal) => {
        pub(crate) static CUDA: $crate::backend::cuda::Kernels = $crate::backend::cuda::Kernels {
            name: $name,
            src: include_str!(concat!($name, ".cu")),
        };
    };
}
pub(crate) use kernels;

/// Helpers every kernel source may use (reductions, grid-stride loops).
pub const PRELUDE: &str = include_str!("prelude.cu");

/// Threads per block for elementwise and reduction kernels. The prelude's
/// block reduction assumes this value (a multiple of 32, at most 1024).
pub(crate) const BLOCK: u32 = 256;

/// Most blocks a one-warp-per-row launch uses (see `Grid::warp_per_item`).
pub(crate) const WARP_BLOCKS: usize = 1024;

/// Most arguments any kernel here takes; launches keep them on the stack.
const MAX_ARGS: usize = 24;

/// Compile one op's kernels to PTX for `compute_90` (the H100 and H200).
/// Needs only libnvrtc, no device: CI calls this for every source so that
/// a kernel that does not compile fails the build.
pub fn compile_ptx(k: &Kernels) -> Result<String> {
    compile::compile(k, Target::Ptx(90), &[]).map(|img| img.ptx().to_string())
}

/// The driver's and NVRTC's CUDA versions, for messages.
fn versions() -> String {
    let (mut driver, mut major, mut minor) = (0, 0, 0);
    // SAFETY: plain queries into valid pointers; both libraries are loaded
    // by the time a module is.
    unsafe {
        let _ = sys::cuDriverGetVersion(&mut driver);
        let _ = cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor);
    }
    format!(
        "driver supports CUDA {}.{}, NVRTC is {major}.{minor}",
        driver / 1000,
        driver % 1000 / 10
    )
}

fn nvrtc_present() -> bool {
    libs::load(Lib::Nvrtc).is_ok()
}

fn missing(what: &str) -> Error {
    Error::Backend {
        backend: "cuda",
        why: format!("{what} was not found; use the Cpu backend on this machine"),
    }
}

pub(crate) fn driver_error(e: driver::DriverError) -> Error {
    Error::Backend {
        backend: "cuda",
        why: format!("CUDA driver: {e}"),
    }
}

/// An NVIDIA GPU, with its stream, its cuBLAS handle and its loaded kernels.
///
/// Cheap to clone: clones share the device. Create one with [`Cuda::new`]
/// and pass it wherever a network or tensor is made:
///
/// ```no_run
/// # use staticnn_runtime::{Cuda, Rank1, Tensor};
/// let gpu = Cuda::new(0)?;
/// let x = Tensor::<Cuda, Rank1<3>>::from_slice(&gpu, &[1.0, 2.0, 3.0])?;
/// # Ok::<(), staticnn_runtime::Error>(())
/// ```
#[derive(Clone)]
pub struct Cuda {
    inner: Arc<Inner>,
}

struct Inner {
    ordinal: usize,
    name: String,
    /// What NVRTC compiles this device's kernels to.
    target: Target,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    /// cuBLAS handles are not to be used by two host threads at once.
    blas: Mutex<CudaBlas>,
    /// Modules loaded on this device, by source name.
    modules: Mutex<HashMap<&'static str, Arc<CudaModule>>>,
    /// Functions by (source, kernel) name. A lookup hashes two static
    /// strings and clones nothing.
    functions: Mutex<HashMap<(&'static str, &'static str), CudaFunction>>,
    /// Device allocations so far, for tests that check buffers are reused.
    allocations: AtomicUsize,
}

impl fmt::Debug for Cuda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cuda")
            .field("ordinal", &self.inner.ordinal)
            .field("name", &self.inner.name)
            .finish()
    }
}

impl PartialEq for Cuda {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Cuda {
    /// The GPU numbered `ordinal` (0 for the first). Fails with a clear
    /// error, never a panic, when the driver, cuBLAS or NVRTC cannot be
    /// loaded or there is no such device.
    ///
    /// Every call for the same GPU returns the same device (while any
    /// handle to it lives), so all work on one GPU goes to one stream, in
    /// order, whichever handle queued it.
    pub fn new(ordinal: usize) -> Result<Self> {
        static DEVICES: LazyLock<Mutex<HashMap<usize, Weak<Inner>>>> =
            LazyLock::new(|| Mutex::new(HashMap::new()));
        let mut devices = DEVICES.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(inner) = devices.get(&ordinal).and_then(Weak::upgrade) {
            return Ok(Cuda { inner });
        }
        let dev = Self::open(ordinal)?;
        devices.insert(ordinal, Arc::downgrade(&dev.inner));
        Ok(dev)
    }

    fn open(ordinal: usize) -> Result<Self> {
        // cudarc panics when asked for a library it cannot open, so each
        // one is looked for first.
        // SAFETY: these only try to open the libraries.
        if !unsafe { sys::is_culib_present() } {
            return Err(missing("the NVIDIA driver (libcuda)"));
        }
        // cuBLAS and NVRTC are looked for in wheel and toolkit folders too
        // (`libs`), and the error lists every place tried.
        for lib in [Lib::Cublas, Lib::Nvrtc] {
            libs::load(lib).map_err(|why| Error::Backend {
                backend: "cuda",
                why: format!("{why}; use the Cpu backend on this machine"),
            })?;
        }
        let count = CudaContext::device_count().map_err(driver_error)?;
        if ordinal >= count.max(0) as usize {
            return Err(Error::Backend {
                backend: "cuda",
                why: format!("there is no GPU {ordinal}: the driver reports {count}"),
            });
        }
        let ctx = CudaContext::new(ordinal).map_err(driver_error)?;
        // One stream, used in order: events between kernels would only
        // cost time (and each buffer two of them).
        // SAFETY: no buffer exists yet, and all work goes to one stream.
        unsafe { ctx.disable_event_tracking() };
        let name = ctx.name().map_err(driver_error)?;
        let attribute = |a| ctx.attribute(a).map_err(driver_error);
        let arch = 10
            * attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?
            + attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?;
        let target = compile::target_for(arch as u32, &compile::supported_archs()?)?;
        let stream = ctx.new_stream().map_err(driver_error)?;
        let blas = CudaBlas::new(stream.clone()).map_err(|e| Error::Backend {
            backend: "cuda",
            why: format!("cuBLAS: {e}"),
        })?;
        Ok(Cuda {
            inner: Arc::new(Inner {
                ordinal,
                name,
                target,
                ctx,
                stream,
                blas: Mutex::new(blas),
                modules: Mutex::new(HashMap::new()),
                functions: Mutex::new(HashMap::new()),
                allocations: AtomicUsize::new(0),
            }),
        })
    }

    /// Whether a usable GPU is present (driver, cuBLAS, NVRTC and at least
    /// one device).
    pub fn is_available() -> bool {
        // SAFETY: these only try to open the libraries.
        let libraries = unsafe { sys::is_culib_present() }
            && libs::load(Lib::Cublas).is_ok()
            && nvrtc_present();
        libraries && CudaContext::device_count().is_ok_and(|n| n > 0)
    }

    /// The device's name ("NVIDIA H100 80GB HBM3").
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Wait until every queued kernel has finished (for timing; reading a
    /// buffer waits by itself).
    pub fn synchronize(&self) -> Result<()> {
        self.inner.stream.synchronize().map_err(driver_error)?;
        // Errors of calls that return nothing (a buffer's free, on drop)
        // are kept by the context; report them here.
        self.inner.ctx.check_err().map_err(driver_error)
    }

    /// How many device buffers have been allocated through this device so
    /// far. A training step after warm-up reuses its buffers, so this stops
    /// growing; the tests check that it does.
    pub fn allocations(&self) -> usize {
        self.inner.allocations.load(Ordering::Relaxed)
    }

    pub(crate) fn stream(&self) -> &Arc<CudaStream> {
        &self.inner.stream
    }

    pub(crate) fn blas(&self) -> std::sync::MutexGuard<'_, CudaBlas> {
        self.inner
            .blas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn bind(&self) -> Result<()> {
        self.inner.ctx.bind_to_thread().map_err(driver_error)
    }

    pub(crate) fn module(&self, k: &'static Kernels) -> Result<Arc<CudaModule>> {
        let mut modules = self
            .inner
            .modules
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = modules.get(k.name) {
            return Ok(m.clone());
        }
        let module = self.load_image(k, self.inner.target).or_else(|first| {
            // Machine code that does not load (it should) still leaves PTX
            // for the driver to compile; say both reasons if that fails too.
            let Target::Cubin(arch) = self.inner.target else {
                return Err(first);
            };
            self.load_image(k, Target::Ptx(arch))
                .map_err(|second| Error::Backend {
                    backend: "cuda",
                    why: format!("{first}; then as PTX: {second}"),
                })
        })?;
        modules.insert(k.name, module.clone());
        Ok(module)
    }

    fn load_image(&self, k: &'static Kernels, target: Target) -> Result<Arc<CudaModule>> {
        let img = compile::cached(k, target)?;
        self.inner
            .ctx
            .load_module(Ptx::from_binary(img.bytes.clone()))
            .map_err(|e| Error::Backend {
                backend: "cuda",
                why: format!(
                    "loading {}.cu's kernels for {target}: {e} ({}; PTX from an NVRTC newer than the driver does not load)",
                    k.name,
                    versions()
                ),
            })
    }

    /// What the kernels of this device are compiled to (`sm_90 (CUBIN)`).
    pub fn kernel_target(&self) -> String {
        self.inner.target.to_string()
    }

    /// The libraries in use and their versions, one per line: the driver,
    /// cuBLAS and NVRTC, each with the file it was loaded from.
    pub fn libraries() -> String {
        let mut out = String::new();
        let mut driver = 0;
        // SAFETY: only opens the library, then plain queries.
        let driver_ok = unsafe { sys::is_culib_present() }
            && unsafe { sys::cuDriverGetVersion(&mut driver) }
                .result()
                .is_ok();
        if driver_ok {
            out.push_str(&format!(
                "driver: CUDA {}.{}{}\n",
                driver / 1000,
                driver % 1000 / 10,
                libs::mapped("libcuda")
                    .map(|p| format!(", {}", p.display()))
                    .unwrap_or_default()
            ));
        } else {
            out.push_str("driver: not found (libcuda)\n");
        }
        match libs::load(Lib::Cublas) {
            Ok(found) => {
                let v = |t| {
                    let mut v = -1;
                    // SAFETY: cuBLAS is loaded; a plain query.
                    let ok = unsafe { cudarc::cublas::sys::cublasGetProperty(t, &mut v) };
                    if ok == cudarc::cublas::sys::cublasStatus_t::CUBLAS_STATUS_SUCCESS {
                        v
                    } else {
                        -1
                    }
                };
                use cudarc::cublas::sys::libraryPropertyType::*;
                let (a, b, c) = (v(MAJOR_VERSION), v(MINOR_VERSION), v(PATCH_LEVEL));
                let version = if a < 0 {
                    "version unknown".to_string()
                } else {
                    format!("{a}.{b}.{c}")
                };
                out.push_str(&format!("cuBLAS: {version}, {found}\n"));
            }
            Err(why) => out.push_str(&format!("cuBLAS: {why}\n")),
        }
        match libs::load(Lib::Nvrtc) {
            Ok(found) => {
                let (mut a, mut b) = (0, 0);
                // SAFETY: NVRTC is loaded; a plain query.
                let _ = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut a, &mut b) };
                let archs = compile::supported_archs()
                    .map(|a| format!("{a:?}"))
                    .unwrap_or_default();
                out.push_str(&format!("NVRTC: {a}.{b}, {found}; compiles for {archs}\n"));
            }
            Err(why) => out.push_str(&format!("NVRTC: {why}\n")),
        }
        out
    }

    fn function(&self, k: &'static Kernels, name: &'static str) -> Result<sys::CUfunction> {
        let key = (k.name, name);
        {
            let functions = self
                .inner
                .functions
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(f) = functions.get(&key) {
                return Ok(f.cu_function());
            }
        }
        let f = self
            .module(k)?
            .load_function(name)
            .map_err(|e| Error::Backend {
                backend: "cuda",
                why: format!("kernel `{name}` in {}.cu: {e}", k.name),
            })?;
        let raw = f.cu_function();
        self.inner
            .functions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, f);
        Ok(raw)
    }

    /// Queue kernel `name` of `k` on the device's stream.
    pub(crate) fn launch(
        &self,
        k: &'static Kernels,
        name: &'static str,
        grid: Grid,
        args: &[&dyn KernelArg],
    ) -> Result<()> {
        if grid.blocks == 0 {
            return Ok(());
        }
        let f = self.function(k, name)?;
        if args.len() > MAX_ARGS {
            return Err(Error::Backend {
                backend: "cuda",
                why: format!(
                    "kernel `{name}` given {} arguments, at most {MAX_ARGS} fit",
                    args.len()
                ),
            });
        }
        let mut raw = [std::ptr::null_mut::<c_void>(); MAX_ARGS];
        for (r, a) in raw.iter_mut().zip(args) {
            *r = a.as_arg();
        }
        self.bind()?;
        // SAFETY: every pointer in `raw` points at a value borrowed for
        // this call; the kernel's signature is the op's to keep in step
        // with its `.cu` file, and kernels check their sizes.
        unsafe {
            driver::launch_kernel(
                f,
                (grid.blocks, 1, 1),
                (grid.threads, 1, 1),
                0,
                self.inner.stream.cu_stream(),
                &mut raw[..args.len()],
            )
        }
        .map_err(|e| Error::Backend {
            backend: "cuda",
            why: format!("launching `{name}` ({}.cu): {e}", k.name),
        })
    }

    fn alloc(&self, len: usize) -> Result<CudaSlice<f32>> {
        self.inner.allocations.fetch_add(1, Ordering::Relaxed);
        // The driver refuses zero bytes, and scratch buffers start empty:
        // those get one value of room (and keep their length of zero).
        // SAFETY: the values are unspecified until written, as
        // `Device::resize` documents; `zeros` clears them.
        unsafe { self.inner.stream.alloc::<f32>(len.max(1)) }.map_err(driver_error)
    }
}

/// A launch shape: `blocks` blocks of `threads` threads, no dynamic shared
/// memory (kernels here declare what they share).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grid {
    pub blocks: u32,
    pub threads: u32,
}

impl Grid {
    /// Enough blocks of [`BLOCK`] threads for one thread per value
    /// (kernels loop when the grid is capped).
    pub fn elements(n: usize) -> Self {
        let blocks = n.div_ceil(BLOCK as usize).min(1 << 20) as u32;
        Grid {
            blocks,
            threads: BLOCK,
        }
    }

    /// One block of [`BLOCK`] threads per item (a row, a channel).
    pub fn per_item(items: usize) -> Self {
        Grid {
            blocks: items.min(i32::MAX as usize) as u32,
            threads: BLOCK,
        }
    }

    /// One warp per item (a row), [`BLOCK`] / 32 items per block, and at
    /// most [`WARP_BLOCKS`] blocks: past 8,192 rows each warp takes several
    /// (`FOR_EACH_ROW_OF_WARP`), which keeps every multiprocessor busy all
    /// the same.
    pub fn warp_per_item(items: usize) -> Self {
        let blocks = (items * 32).div_ceil(BLOCK as usize).min(WARP_BLOCKS) as u32;
        Grid {
            blocks,
            threads: BLOCK,
        }
    }
}

/// A value that can be passed to a kernel: `u64` (device pointers, and
/// `unsigned long long` seeds), `int` and `float`.
pub(crate) trait KernelArg {
    fn as_arg(&self) -> *mut c_void;
}

macro_rules! kernel_args {
    ($($t:ty),*) => {$(
        impl KernelArg for $t {
            fn as_arg(&self) -> *mut c_void {
                self as *const $t as *mut c_void
            }
        }
    )*};
}
kernel_args!(u64, i32, f32);

/// A size as a kernel's `int`, or an error for a size CUDA code here does
/// not index (2^31 values and more).
pub(crate) fn int(n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::Backend {
        backend: "cuda",
        why: format!("{n} values is more than one kernel launch indexes (2^31 - 1)"),
    })
}

/// A buffer of `f32` on a GPU. Its memory may be larger than its length,
/// so that a smaller last batch and the full batches after it reuse one
/// allocation, as a CPU vector keeps its capacity.
pub struct CudaBuf {
    mem: CudaSlice<f32>,
    ptr: u64,
    len: usize,
}

impl CudaBuf {
    fn new(dev: &Cuda, mem: CudaSlice<f32>, len: usize) -> Self {
        let ptr = mem.device_ptr(dev.stream()).0;
        CudaBuf { mem, ptr, len }
    }

    /// The device address, for kernel arguments.
    pub(crate) fn ptr(&self) -> u64 {
        self.ptr
    }

    /// The device address of value `i` (within the buffer).
    pub(crate) fn ptr_at(&self, i: usize) -> u64 {
        self.ptr + (i * std::mem::size_of::<f32>()) as u64
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for CudaBuf {
    fn drop(&mut self) {
        // cudarc frees the memory (`cuMemFreeAsync`) when `mem` drops,
        // right after this, without making its context current; on a
        // thread that never used the device the free would fail (and the
        // memory leak). Binding is cheap when it is already current.
        let _ = self.mem.context().bind_to_thread();
    }
}

impl fmt::Debug for CudaBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CudaBuf")
            .field("len", &self.len)
            .field("capacity", &self.mem.len())
            .finish()
    }
}

/// Length check for CUDA kernels: sizes are checked on the host, before a
/// launch, since a kernel cannot report an error.
pub(crate) fn check_len(op: &'static str, expected: usize, got: usize) -> Result<()> {
    super::check_len_on("cuda", op, expected, got)
}

impl Device for Cuda {
    type Buf = CudaBuf;
    const NAME: &'static str = "cuda";

    fn zeros(&self, len: usize) -> Result<CudaBuf> {
        let mut buf = CudaBuf::new(self, self.alloc(len)?, len);
        self.fill(&mut buf, 0.0)?;
        Ok(buf)
    }

    fn upload(&self, host: &[f32]) -> Result<CudaBuf> {
        let mut buf = CudaBuf::new(self, self.alloc(host.len())?, host.len());
        self.write(&mut buf, host)?;
        Ok(buf)
    }

    fn read<'a>(&self, buf: &'a CudaBuf) -> Result<Cow<'a, [f32]>> {
        let mut host = vec![0.0f32; buf.len];
        if buf.len > 0 {
            self.bind()?;
            // SAFETY: `host` holds exactly `buf.len` values.
            unsafe { driver::memcpy_dtoh_async(&mut host, buf.ptr, self.stream().cu_stream()) }
                .map_err(driver_error)?;
            self.synchronize()?;
        }
        Ok(Cow::Owned(host))
    }

    fn write(&self, buf: &mut CudaBuf, host: &[f32]) -> Result<()> {
        check_len("write", buf.len, host.len())?;
        if host.is_empty() {
            return Ok(());
        }
        self.bind()?;
        // SAFETY: the buffer holds `host.len()` values. From pageable
        // memory the copy is staged before the call returns, so `host`
        // may change afterwards.
        unsafe { driver::memcpy_htod_async(buf.ptr, host, self.stream().cu_stream()) }
            .map_err(driver_error)
    }

    fn copy(&self, src: &CudaBuf, dst: &mut CudaBuf) -> Result<()> {
        check_len("copy", dst.len, src.len)?;
        if src.len == 0 {
            return Ok(());
        }
        self.bind()?;
        // SAFETY: both buffers hold `src.len` values.
        unsafe {
            driver::memcpy_dtod_async(
                dst.ptr,
                src.ptr,
                src.len * std::mem::size_of::<f32>(),
                self.stream().cu_stream(),
            )
        }
        .map_err(driver_error)
    }

    fn resize(&self, buf: &mut CudaBuf, len: usize) -> Result<()> {
        if len > buf.mem.len() {
            *buf = CudaBuf::new(self, self.alloc(len)?, len);
        }
        buf.len = len;
        Ok(())
    }

    fn fill(&self, buf: &mut CudaBuf, value: f32) -> Result<()> {
        if buf.len == 0 {
            return Ok(());
        }
        self.bind()?;
        // SAFETY: writes `buf.len` 32-bit words inside the buffer.
        unsafe {
            sys::cuMemsetD32Async(buf.ptr, value.to_bits(), buf.len, self.stream().cu_stream())
        }
        .result()
        .map_err(driver_error)
    }

    fn len(buf: &CudaBuf) -> usize {
        buf.len
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Whether NVRTC loads; when it does not, a test skips, unless
    /// `STATICNN_REQUIRE_NVRTC` is set (CI installs NVRTC and sets it, so
    /// there a missing library fails the test rather than skipping it).
    pub(crate) fn nvrtc_or_skip() -> bool {
        if let Err(why) = libs::load(Lib::Nvrtc) {
            assert!(
                std::env::var_os("STATICNN_REQUIRE_NVRTC").is_none(),
                "STATICNN_REQUIRE_NVRTC is set but NVRTC cannot be loaded: {why}"
            );
            eprintln!("skipping: {why}");
            return false;
        }
        true
    }

    #[test]
    fn a_broken_kernel_is_reported_with_its_file() {
        if !nvrtc_or_skip() {
            return;
        }
        static BROKEN: Kernels = Kernels {
            name: "broken",
            src: "extern \"C\" __global__ void f(float* x) { x[0] = undefined_name; }",
        };
        let err = compile_ptx(&BROKEN).unwrap_err().to_string();
        assert!(
            err.contains("broken.cu") && err.contains("undefined_name"),
            "{err}"
        );
    }

    #[test]
    fn no_device_is_an_error_not_a_panic() {
        // On a machine with a GPU this makes a device; without one it must
        // return an error naming what is missing.
        match Cuda::new(0) {
            Ok(dev) => eprintln!("found {}", dev.name()),
            Err(e) => assert!(
                e.to_string().contains("Cpu backend") || e.to_string().contains("GPU"),
                "{e}"
            ),
        }
        assert!(Cuda::new(1 << 20).is_err());
        assert_eq!(Cuda::is_available(), Cuda::new(0).is_ok());
    }
}
