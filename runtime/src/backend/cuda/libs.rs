//! Finding cuBLAS and NVRTC of CUDA 12 or 13 on a machine that may have no
//! CUDA toolkit: only the driver, and the `nvidia-*` wheels of some Python
//! (PyTorch's own, say).
//!
//! cudarc opens its libraries by name (`libcublas.so`, `libcublas.so.13`,
//! `libcublas.so.12`, ...), which the system loader resolves through
//! `LD_LIBRARY_PATH` and the `ld.so` cache only. A wheel's folder is on
//! neither, so this module looks for the library itself and opens it by
//! full path before cudarc asks: the loader then hands cudarc the library
//! already open under the same soname, and nothing needs to be set before
//! the program starts. The search, in order:
//!
//! 1. the system loader, under every name cudarc tries (so what it finds
//!    is what cudarc would have found alone);
//! 2. the folders in `STATICNN_CUDA_LIB_DIR` (`:`-separated);
//! 3. the `nvidia` wheel folders (`nvidia/cu13/lib`, `nvidia/cublas/lib`,
//!    `nvidia/cuda_nvrtc/lib`, `nvidia/cu12/lib`) of every Python found:
//!    `VIRTUAL_ENV`, `CONDA_PREFIX`, each `python3` on `PATH`, `/opt/*`
//!    virtual environments, `~/.local` and the system's;
//! 4. CUDA toolkits: `CUDA_PATH`, `CUDA_HOME`, `/usr/local/cuda*`.
//!
//! In a folder, CUDA 13's soname is tried before CUDA 12's, unless the
//! driver is older than CUDA 13 (a CUDA 13 library does not run on it).
//! When nothing is found, the error lists every name and folder tried.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One of the libraries this module finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lib {
    /// cuBLAS (`libcublas`), with `libcublasLt` beside it.
    Cublas,
    /// NVRTC (`libnvrtc`), with its `libnvrtc-builtins` beside it.
    Nvrtc,
}

impl Lib {
    /// The stem cudarc uses for it (`cublas`, `nvrtc`).
    fn stem(self) -> &'static str {
        match self {
            Lib::Cublas => "cublas",
            Lib::Nvrtc => "nvrtc",
        }
    }

    /// What it is called in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Lib::Cublas => "cuBLAS (libcublas)",
            Lib::Nvrtc => "NVRTC (libnvrtc)",
        }
    }

    /// Libraries it needs from its own folder (file names, or for NVRTC's
    /// builtins a name prefix), opened first so that they resolve there
    /// rather than wherever the loader looks: cuBLAS links libcublasLt, and
    /// NVRTC opens `libnvrtc-builtins.so.13.0` (say) by name at its first
    /// compile, which finds the open one by its soname.
    fn companions(self, dir: &Path, major: u32) -> Vec<PathBuf> {
        match self {
            Lib::Cublas => vec![dir.join(format!("libcublasLt.so.{major}"))],
            Lib::Nvrtc => {
                let prefix = format!("libnvrtc-builtins.so.{major}.");
                let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
                    .map(|rd| {
                        rd.flatten()
                            .map(|e| e.path())
                            .filter(|p| {
                                p.file_name()
                                    .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                found.sort();
                found
            }
        }
        .into_iter()
        .filter(|p| p.is_file())
        .collect()
    }
}

/// Where a library was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The file that was opened (for the system loader: the file the
    /// process has mapped, when it can be told).
    pub path: PathBuf,
    /// How it was found, for reports ("system loader", "STATICNN_CUDA_LIB_DIR",
    /// "Python wheel", "CUDA toolkit").
    pub via: &'static str,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (via {})", self.path.display(), self.via)
    }
}

/// Everything that was tried for one library, for the error when none was
/// found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tried {
    /// Names given to the system loader.
    pub names: Vec<String>,
    /// Folders looked in, with the file names looked for in each.
    pub folders: Vec<(PathBuf, &'static str)>,
    /// Files that exist but did not open, with the loader's reason.
    pub failed: Vec<(PathBuf, String)>,
}

impl Tried {
    /// "libcublas was not found: tried ..." with every name and folder.
    pub fn message(&self, lib: Lib, file_names: &[String]) -> String {
        let mut s = format!(
            "{} was not found. Tried the system loader (LD_LIBRARY_PATH, ld.so cache) with {}",
            lib.describe(),
            self.names.join(", ")
        );
        if self.folders.is_empty() {
            s.push_str("; no other folders (none of STATICNN_CUDA_LIB_DIR, a Python with nvidia wheels or a CUDA toolkit exists)");
        } else {
            s.push_str(&format!(
                "; then {} in these folders: ",
                file_names.join(" or ")
            ));
            let folders: Vec<String> = self
                .folders
                .iter()
                .map(|(d, via)| format!("{} ({via})", d.display()))
                .collect();
            s.push_str(&folders.join(", "));
        }
        for (path, why) in &self.failed {
            s.push_str(&format!(
                "; {} exists but did not load: {why}",
                path.display()
            ));
        }
        s.push_str(". Install it (`pip install nvidia-cublas-cu12 nvidia-cuda-nvrtc-cu12`, or the CUDA toolkit) or set STATICNN_CUDA_LIB_DIR to its folder");
        s
    }
}

/// The environment the search reads, gathered once so that tests can give
/// a made-up one.
#[derive(Debug, Clone, Default)]
pub struct SearchEnv {
    /// `STATICNN_CUDA_LIB_DIR`, split on `:`.
    pub lib_dirs: Vec<PathBuf>,
    /// `VIRTUAL_ENV` and `CONDA_PREFIX`.
    pub python_prefixes: Vec<PathBuf>,
    /// `PATH`.
    pub path: Vec<PathBuf>,
    /// `HOME`.
    pub home: Option<PathBuf>,
    /// `CUDA_PATH` and `CUDA_HOME`.
    pub cuda_roots: Vec<PathBuf>,
    /// Folders searched for Python installations and toolkits: `/opt`,
    /// `/usr/local`, `/usr` (tests replace them).
    pub system_roots: Vec<PathBuf>,
}

impl SearchEnv {
    /// This process's environment.
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let split = |v: Option<OsString>| -> Vec<PathBuf> {
            v.map(|v| std::env::split_paths(&v).collect())
                .unwrap_or_default()
        };
        SearchEnv {
            lib_dirs: split(var("STATICNN_CUDA_LIB_DIR")),
            python_prefixes: ["VIRTUAL_ENV", "CONDA_PREFIX"]
                .iter()
                .filter_map(|k| var(k).map(PathBuf::from))
                .collect(),
            path: split(var("PATH")),
            home: var("HOME").map(PathBuf::from),
            cuda_roots: ["CUDA_PATH", "CUDA_HOME"]
                .iter()
                .filter_map(|k| var(k).map(PathBuf::from))
                .collect(),
            system_roots: ["/opt", "/usr/local", "/usr"]
                .iter()
                .map(PathBuf::from)
                .collect(),
        }
    }

    /// Every folder worth looking in, in search order, each once.
    pub fn folders(&self) -> Vec<(PathBuf, &'static str)> {
        let mut out: Vec<(PathBuf, &'static str)> = Vec::new();
        let mut push = |dir: PathBuf, via: &'static str| {
            if dir.is_dir() && !out.iter().any(|(d, _)| *d == dir) {
                out.push((dir, via));
            }
        };
        for d in &self.lib_dirs {
            push(d.clone(), "STATICNN_CUDA_LIB_DIR");
        }
        for sp in self.site_packages() {
            for sub in [
                "nvidia/cu13/lib",
                "nvidia/cublas/lib",
                "nvidia/cuda_nvrtc/lib",
                "nvidia/cu12/lib",
            ] {
                push(sp.join(sub), "Python wheel");
            }
        }
        let mut toolkits = self.cuda_roots.clone();
        for root in &self.system_roots {
            toolkits.extend(subdirs(root, |n| n == "cuda" || n.starts_with("cuda-")));
        }
        for t in toolkits {
            push(t.join("lib64"), "CUDA toolkit");
            push(t.join("lib"), "CUDA toolkit");
            push(t.join("targets/x86_64-linux/lib"), "CUDA toolkit");
        }
        out
    }

    /// The `site-packages` (and Debian's `dist-packages`) folders of every
    /// Python installation found.
    fn site_packages(&self) -> Vec<PathBuf> {
        // Prefixes: a Python's `bin/..`, virtual environments, conda.
        let mut prefixes = self.python_prefixes.clone();
        for dir in &self.path {
            let has_python = std::fs::read_dir(dir).is_ok_and(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("python3"))
            });
            if has_python {
                if let Some(parent) = dir.parent() {
                    prefixes.push(parent.to_path_buf());
                }
            }
        }
        for root in &self.system_roots {
            prefixes.push(root.clone());
            // /opt/torch/.venv, /opt/venv, /opt/conda, ...
            for d in subdirs(root, |_| true) {
                prefixes.push(d.join(".venv"));
                prefixes.push(d.join("venv"));
                prefixes.push(d);
            }
        }
        if let Some(home) = &self.home {
            for sub in [
                ".local",
                ".venv",
                "venv",
                "miniconda3",
                "anaconda3",
                "miniforge3",
            ] {
                prefixes.push(home.join(sub));
            }
        }
        let mut out = Vec::new();
        for prefix in prefixes {
            for lib in ["lib", "lib64"] {
                for py in subdirs(&prefix.join(lib), |n| n.starts_with("python3")) {
                    for sp in ["site-packages", "dist-packages"] {
                        let sp = py.join(sp);
                        if sp.join("nvidia").is_dir() && !out.contains(&sp) {
                            out.push(sp);
                        }
                    }
                }
            }
        }
        out
    }
}

/// The subfolders of `dir` whose names pass `keep`, sorted (so that the
/// search order does not depend on the file system's).
fn subdirs(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir() && keep(&e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The CUDA majors to look for, in order: 13 before 12, unless the driver
/// is known to be older than 13.
fn majors(driver_major: Option<u32>) -> Vec<u32> {
    match driver_major {
        Some(d) if d < 13 => vec![12],
        _ => vec![13, 12],
    }
}

/// The file names looked for in a folder, in order.
pub fn file_names(lib: Lib, driver_major: Option<u32>) -> Vec<String> {
    majors(driver_major)
        .into_iter()
        .map(|m| format!("lib{}.so.{m}", lib.stem()))
        .collect()
}

/// The first folder (in search order) that holds the library, and the
/// file in it: the search itself, without opening anything.
pub fn find_file(
    lib: Lib,
    driver_major: Option<u32>,
    folders: &[(PathBuf, &'static str)],
) -> Option<(PathBuf, &'static str)> {
    let names = file_names(lib, driver_major);
    folders.iter().find_map(|(dir, via)| {
        names
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
            .map(|p| (p, *via))
    })
}

/// Libraries opened by full path stay open for the life of the process
/// (cudarc's handles come from the loader's, which these keep alive).
static KEPT: OnceLock<std::sync::Mutex<Vec<libloading::Library>>> = OnceLock::new();

fn keep(lib: libloading::Library) {
    KEPT.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(lib);
}

/// Open `lib` (searching as the module docs say), once per process; the
/// result is cached, so later calls cost a lock.
pub fn load(lib: Lib) -> Result<Found, String> {
    static CUBLAS: OnceLock<Result<Found, String>> = OnceLock::new();
    static NVRTC: OnceLock<Result<Found, String>> = OnceLock::new();
    let cell = match lib {
        Lib::Cublas => &CUBLAS,
        Lib::Nvrtc => &NVRTC,
    };
    cell.get_or_init(|| search_and_open(lib, &SearchEnv::from_process(), driver_major()))
        .clone()
}

/// The CUDA major version the driver supports, if a driver loads.
fn driver_major() -> Option<u32> {
    // SAFETY: only tries to open the library, then a plain query.
    unsafe {
        if !cudarc::driver::sys::is_culib_present() {
            return None;
        }
        let mut v = 0;
        cudarc::driver::sys::cuDriverGetVersion(&mut v)
            .result()
            .ok()
            .map(|_| (v / 1000) as u32)
    }
}

fn search_and_open(lib: Lib, env: &SearchEnv, driver_major: Option<u32>) -> Result<Found, String> {
    let mut tried = Tried::default();
    // 1. What cudarc would find by itself.
    for name in cudarc::get_lib_name_candidates(lib.stem()) {
        // SAFETY: opening a CUDA library runs only its initialisers.
        if let Ok(l) = unsafe { libloading::Library::new(&name) } {
            keep(l);
            let path = mapped(&format!("lib{}", lib.stem())).unwrap_or_else(|| name.into());
            return Ok(Found {
                path,
                via: "system loader",
            });
        }
        tried.names.push(name);
    }
    // 2-4. Folders, by full path.
    let names = file_names(lib, driver_major);
    open_from_folders(lib, &names, env.folders(), tried).map_err(|t| t.message(lib, &names))
}

/// Open the first of `names` that loads, folder by folder; else all that
/// was tried, with every file that exists but did not load and why.
fn open_from_folders(
    lib: Lib,
    names: &[String],
    folders: Vec<(PathBuf, &'static str)>,
    mut tried: Tried,
) -> Result<Found, Tried> {
    for (dir, via) in &folders {
        for name in names {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            match open_with_companions(lib, dir, &path) {
                Ok(()) => return Ok(Found { path, via }),
                Err(why) => tried.failed.push((path, why)),
            }
        }
    }
    tried.folders = folders;
    Err(tried)
}

/// Open the library's companions from `dir` (where they are), then the
/// library itself, all kept open.
fn open_with_companions(lib: Lib, dir: &Path, path: &Path) -> Result<(), String> {
    let major: u32 = path
        .extension()
        .and_then(|e| e.to_str())
        .and_then(|e| e.parse().ok())
        .unwrap_or(12);
    let mut opened = Vec::new();
    for p in lib.companions(dir, major) {
        // SAFETY: as above.
        opened.push(unsafe { libloading::Library::new(&p) }.map_err(|e| e.to_string())?);
    }
    // SAFETY: as above.
    opened.push(unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?);
    opened.into_iter().for_each(keep);
    Ok(())
}

/// The file this process has mapped whose name starts with `stem.so`
/// (`libcublas.so.13` or a link's target), from `/proc/self/maps`.
pub fn mapped(stem: &str) -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let want = format!("{stem}.so");
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| {
            Path::new(p)
                .file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with(&want))
        })
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(p: &Path) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b"").unwrap();
    }

    fn fake_env(root: &Path) -> SearchEnv {
        SearchEnv {
            system_roots: vec![root.join("opt"), root.join("usr")],
            home: Some(root.join("home")),
            ..Default::default()
        }
    }

    #[test]
    fn finds_pytorchs_cuda13_wheels_in_an_opt_venv() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir
            .path()
            .join("opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib");
        touch(&lib.join("libcublas.so.13"));
        touch(&lib.join("libnvrtc.so.13"));
        let folders = fake_env(dir.path()).folders();
        let (path, via) = find_file(Lib::Cublas, Some(13), &folders).unwrap();
        assert_eq!(path, lib.join("libcublas.so.13"));
        assert_eq!(via, "Python wheel");
        assert!(find_file(Lib::Nvrtc, None, &folders).is_some());
    }

    #[test]
    fn finds_cuda12_wheels_of_a_python_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("some/env");
        touch(&prefix.join("bin/python3"));
        let sp = prefix.join("lib/python3.11/site-packages/nvidia");
        touch(&sp.join("cublas/lib/libcublas.so.12"));
        touch(&sp.join("cuda_nvrtc/lib/libnvrtc.so.12"));
        let env = SearchEnv {
            path: vec![prefix.join("bin")],
            ..fake_env(dir.path())
        };
        let folders = env.folders();
        let (cublas, _) = find_file(Lib::Cublas, Some(13), &folders).unwrap();
        assert!(cublas.ends_with("cublas/lib/libcublas.so.12"), "{cublas:?}");
        let (nvrtc, _) = find_file(Lib::Nvrtc, Some(12), &folders).unwrap();
        assert!(
            nvrtc.ends_with("cuda_nvrtc/lib/libnvrtc.so.12"),
            "{nvrtc:?}"
        );
    }

    #[test]
    fn the_variable_comes_before_wheels_and_13_before_12_unless_the_driver_is_12() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join("mine");
        touch(&mine.join("libcublas.so.12"));
        touch(&mine.join("libcublas.so.13"));
        touch(
            &dir.path()
                .join("home/.local/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13"),
        );
        let env = SearchEnv {
            lib_dirs: vec![mine.clone()],
            ..fake_env(dir.path())
        };
        let folders = env.folders();
        assert_eq!(folders[0], (mine.clone(), "STATICNN_CUDA_LIB_DIR"));
        assert_eq!(
            find_file(Lib::Cublas, Some(13), &folders).unwrap().0,
            mine.join("libcublas.so.13")
        );
        // A CUDA 12 driver cannot run CUDA 13's cuBLAS.
        assert_eq!(
            find_file(Lib::Cublas, Some(12), &folders).unwrap().0,
            mine.join("libcublas.so.12")
        );
    }

    #[test]
    fn toolkits_are_searched_too() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("usr/cuda-12.4/lib64/libnvrtc.so.12");
        touch(&lib);
        let folders = fake_env(dir.path()).folders();
        assert_eq!(
            find_file(Lib::Nvrtc, None, &folders).unwrap(),
            (lib, "CUDA toolkit")
        );
    }

    #[test]
    fn nothing_found_lists_every_name_and_folder_tried() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir
            .path()
            .join("opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib");
        fs::create_dir_all(&empty).unwrap();
        let mut env = fake_env(dir.path());
        env.lib_dirs = vec![dir.path().join("nowhere")];
        // Not search_and_open: the system loader may find a real library.
        let folders = env.folders();
        assert!(find_file(Lib::Nvrtc, Some(13), &folders).is_none());
        let tried = Tried {
            names: cudarc::get_lib_name_candidates("nvrtc"),
            folders,
            failed: vec![],
        };
        let msg = tried.message(Lib::Nvrtc, &file_names(Lib::Nvrtc, Some(13)));
        for want in [
            "NVRTC (libnvrtc) was not found",
            "libnvrtc.so.13 or libnvrtc.so.12",
            "libnvrtc.so.12,",
            "nvidia/cu13/lib (Python wheel)",
            "STATICNN_CUDA_LIB_DIR",
        ] {
            assert!(msg.contains(want), "{want:?} not in: {msg}");
        }
    }

    #[test]
    fn companions_are_the_ones_beside_the_library() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "libnvrtc.so.13",
            "libnvrtc-builtins.so.13.0",
            "libnvrtc-builtins.alt.so.13.0",
            "libnvrtc-builtins.so.12.9",
            "libcublasLt.so.13",
        ] {
            touch(&dir.path().join(f));
        }
        assert_eq!(
            Lib::Nvrtc.companions(dir.path(), 13),
            vec![dir.path().join("libnvrtc-builtins.so.13.0")]
        );
        assert_eq!(
            Lib::Cublas.companions(dir.path(), 13),
            vec![dir.path().join("libcublasLt.so.13")]
        );
        assert!(Lib::Cublas.companions(dir.path(), 12).is_empty());
    }

    #[test]
    fn a_file_that_is_no_library_is_reported_and_the_search_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let bogus = dir.path().join("bogus");
        touch(&bogus.join("libnvrtc.so.13"));
        let env = SearchEnv {
            lib_dirs: vec![bogus.clone(), dir.path().join("empty")],
            ..fake_env(dir.path())
        };
        fs::create_dir_all(dir.path().join("empty")).unwrap();
        let names = file_names(Lib::Nvrtc, Some(13));
        let tried = open_from_folders(Lib::Nvrtc, &names, env.folders(), Tried::default())
            .expect_err("an empty file is no library");
        assert_eq!(tried.failed.len(), 1);
        assert_eq!(tried.failed[0].0, bogus.join("libnvrtc.so.13"));
        assert_eq!(tried.folders.len(), 2, "{:?}", tried.folders);
        let msg = tried.message(Lib::Nvrtc, &names);
        assert!(
            msg.contains("libnvrtc.so.13 exists but did not load"),
            "{msg}"
        );
        assert!(msg.contains("empty (STATICNN_CUDA_LIB_DIR)"), "{msg}");
    }
}
