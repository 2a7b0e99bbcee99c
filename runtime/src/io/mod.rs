//! Saving and loading weights as safetensors, with PyTorch's names and
//! layouts, so a `state_dict` saved with `safetensors.torch.save_file`
//! loads directly.
//!
//! Loading checks the whole file against the network (every tensor present,
//! no extra ones, F32, right shapes) before it changes a single value, so a
//! bad file leaves the network as it was. Saving writes a temporary file
//! next to the target and renames it over the target, so a crash mid-save
//! never leaves a half-written file.

use crate::data::standardize::METADATA_KEY;
use crate::data::Standardizer;
use crate::layers::Layer;
use crate::ops::Backend;
use crate::{Error, Result};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

/// One parameter copied to the host: name, PyTorch shape, values.
type HostParam = (String, Vec<usize>, Vec<f32>);

/// Every parameter of `model`, in visit order.
fn collect<B: Backend, L: Layer<B>>(model: &L) -> Result<Vec<HostParam>> {
    let mut out = Vec::new();
    model.visit_params("", &mut |name, p| {
        out.push((name.to_string(), p.dims().to_vec(), p.to_vec()?));
        Ok(())
    })?;
    Ok(out)
}

/// The model's weights as safetensors bytes. Refuses (naming `origin`, the
/// file they are for) weights that hold NaN or an infinity, which `load`
/// would refuse: whatever `save` writes loads again.
fn encode<B: Backend, L: Layer<B>>(
    model: &L,
    origin: &str,
    standardizer: Option<&Standardizer>,
) -> Result<Vec<u8>> {
    let params = collect(model)?;
    for (name, _, v) in &params {
        check_finite(origin, name, v)?;
    }
    let bytes: Vec<Vec<u8>> = params
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|f| f.to_le_bytes()).collect())
        .collect();
    let views = params
        .iter()
        .zip(&bytes)
        .map(|((name, dims, _), b)| {
            Ok((
                name.as_str(),
                TensorView::new(Dtype::F32, dims.clone(), b).map_err(st_err("(memory)"))?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    if let Some(s) = standardizer {
        meta.insert(METADATA_KEY.to_string(), s.to_metadata());
    }
    safetensors::serialize(views, Some(meta)).map_err(st_err("(memory)"))
}

/// The model's weights as safetensors bytes (refused if any is not
/// finite).
pub fn to_bytes<B: Backend, L: Layer<B>>(model: &L) -> Result<Vec<u8>> {
    encode(model, "(memory)", None)
}

/// Refuse a tensor holding NaN or an infinity, naming its first one.
fn check_finite(origin: &str, name: &str, v: &[f32]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(Error::TensorNotFinite {
            path: origin.to_string(),
            name: name.to_string(),
            index,
            value: v[index],
        }),
        None => Ok(()),
    }
}

fn st_err(path: &str) -> impl Fn(safetensors::SafeTensorError) -> Error + '_ {
    move |e| Error::BadWeights {
        path: path.to_string(),
        why: e.to_string(),
    }
}

/// Save the model's weights to `path` atomically: written to
/// `.NAME.tmp` beside it, flushed, renamed over it, and the directory
/// flushed so that the rename survives a power loss. A crash leaves at most
/// that one temporary file per target, which the next save replaces.
/// Weights that are not finite are refused (`load` would refuse them).
pub fn save<B: Backend, L: Layer<B>>(model: &L, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    write_atomically(path, &encode(model, &path.display().to_string(), None)?)
}

/// [`save`], with the standardiser the network was trained behind stored
/// in the file's metadata (under `staticnn.standardizer`, as JSON), so
/// that whoever loads the weights applies what training applied:
/// [`Standardizer::load`] reads it back, and the `serve` example applies
/// it to every request. PyTorch's `load_file` ignores the metadata.
/// Refuses a standardiser fitted on samples of another size.
pub fn save_with_standardizer<B: Backend, L: Layer<B>>(
    model: &L,
    standardizer: &Standardizer,
    path: impl AsRef<Path>,
) -> Result<()> {
    standardizer.check_features(<L::Input as crate::shape::Shape>::SIZE)?;
    let path = path.as_ref();
    write_atomically(
        path,
        &encode(model, &path.display().to_string(), Some(standardizer))?,
    )
}

/// The standardiser saved in the weights file at `path`, or `None`.
pub(crate) fn load_standardizer(path: impl AsRef<Path>) -> Result<Option<Standardizer>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let origin = path.display().to_string();
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(st_err(&origin))?;
    let Some(text) = header.metadata().as_ref().and_then(|m| m.get(METADATA_KEY)) else {
        return Ok(None);
    };
    Standardizer::from_metadata(text)
        .map(Some)
        .map_err(|why| Error::BadWeights { path: origin, why })
}

/// Write `bytes` to `path` so that a crash leaves the old file or the new
/// one, never a mix (see [`save`]).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path.file_name().ok_or_else(|| {
        Error::config("weights path", format!("{} names no file", path.display()))
    })?;
    // One temporary name per target, not per process: a killed save leaves
    // a file the next save overwrites, not one more each time.
    let tmp = dir.join(format!(".{}.tmp", file_name.to_string_lossy()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Flush a directory's entries (the rename just made in it) to disk.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Windows cannot open a directory as a file; its renames are journalled.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Load weights from a safetensors file into `model`. On any error the
/// model is unchanged.
pub fn load<B: Backend, L: Layer<B>>(model: &mut L, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    load_bytes(model, &bytes, &path.display().to_string())
}

/// Load weights from safetensors bytes; `origin` names them in errors.
pub fn load_bytes<B: Backend, L: Layer<B>>(
    model: &mut L,
    bytes: &[u8],
    origin: &str,
) -> Result<()> {
    let file = SafeTensors::deserialize(bytes).map_err(st_err(origin))?;
    let file_names: BTreeSet<&str> = file.names().into_iter().collect();
    let list = |names: &mut dyn Iterator<Item = &str>| names.collect::<Vec<_>>().join(", ");

    // Check everything and decode into host memory before touching the model.
    let mut wanted = Vec::new();
    model.visit_params("", &mut |name, p| {
        wanted.push((name.to_string(), p.dims(), p.allows_negative()));
        Ok(())
    })?;
    let mut values = Vec::with_capacity(wanted.len());
    for (name, dims, allows_negative) in &wanted {
        let view = file.tensor(name).map_err(|_| Error::MissingTensor {
            path: origin.to_string(),
            name: name.clone(),
            shape: dims.to_vec(),
            found: list(&mut file_names.iter().copied()),
        })?;
        if view.dtype() != Dtype::F32 {
            return Err(Error::TensorDtype {
                path: origin.to_string(),
                name: name.clone(),
                got: format!("{:?}", view.dtype()),
            });
        }
        if view.shape() != *dims {
            return Err(Error::TensorShape {
                path: origin.to_string(),
                name: name.clone(),
                got: view.shape().to_vec(),
                expected: dims.to_vec(),
            });
        }
        let v: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        // A NaN weight poisons every output silently; refuse it at the door.
        check_finite(origin, name, &v)?;
        if !allows_negative {
            if let Some(index) = v.iter().position(|&x| x < 0.0) {
                return Err(Error::TensorNegative {
                    path: origin.to_string(),
                    name: name.clone(),
                    index,
                    value: v[index],
                });
            }
        }
        values.push(v);
    }
    let expected: BTreeSet<&str> = wanted.iter().map(|(n, _, _)| n.as_str()).collect();
    let extra: Vec<&str> = file_names
        .difference(&expected)
        .copied()
        .filter(|name| !is_batch_counter(name, &expected))
        .collect();
    if !extra.is_empty() {
        return Err(Error::UnexpectedTensors {
            path: origin.to_string(),
            names: extra.join(", "),
            expected: list(&mut expected.iter().copied()),
        });
    }

    let mut values = values.into_iter();
    model.visit_params_mut("", &mut |_, p| match values.next() {
        Some(v) => p.set(&v),
        None => Err(Error::config(
            "load",
            "the network's parameters changed while loading",
        )),
    })
}

/// PyTorch's BatchNorm saves `num_batches_tracked` (an int64 count used
/// only when `momentum=None`) next to its running statistics. staticnn
/// always uses a momentum, so the count is accepted and ignored; PyTorch
/// fills it in when it loads a file without it.
fn is_batch_counter(name: &str, expected: &BTreeSet<&str>) -> bool {
    name.strip_suffix("num_batches_tracked")
        .is_some_and(|prefix| expected.contains(format!("{prefix}running_mean").as_str()))
}

/// Copy every parameter of `src` into `dst`, which may live on another
/// device; names and shapes must match (they do for two instances of one
/// network type).
pub fn copy_params<B: Backend, D: Backend, S: Layer<B>, T: Layer<D>>(
    src: &S,
    dst: &mut T,
) -> Result<()> {
    let values = collect(src)?;
    let mut it = values.into_iter();
    dst.visit_params_mut("", &mut |name, p| match it.next() {
        Some((src_name, dims, v)) if src_name == name && dims == p.dims() => p.set(&v),
        Some((src_name, dims, _)) => Err(Error::config(
            "parameter copy",
            format!(
                "source has `{src_name}` {dims:?} where the destination has `{name}` {:?}",
                p.dims()
            ),
        )),
        None => Err(Error::config(
            "parameter copy",
            format!("source has no parameter for `{name}`"),
        )),
    })
}
