//! The layers of the DSL, one module each, mirroring
//! `runtime/src/layers/`: a layer's names (and other frameworks' names for
//! it), how its arguments are read, its shape rule, and what it generates
//! (its runtime type, initialisation and parameter count) live together.
//! Adding a layer is a file here, its line in [`ALL`], and its runtime
//! file. [`check`] walks a list of layers through them.

mod activation;
mod batch_norm;
pub mod check;
mod conv2d;
mod custom;
mod dense;
mod dropout;
mod flatten;
mod network;
mod pool;
mod residual;
mod softmax;
pub mod suggest;
mod weights;
mod window;

use crate::parse::Entry;
use crate::shape::{Ctx, Shape, Step};
use syn::Ident;

/// Where an entry sits: its list (for the layers after it), its field name
/// and the struct the list becomes.
pub struct Site<'a> {
    pub entries: &'a [Entry],
    pub index: usize,
    pub field: &'a Ident,
    pub owner: &'a Ident,
}

impl Site<'_> {
    pub fn entry(&self) -> &Entry {
        &self.entries[self.index]
    }
}

/// A layer of the DSL.
pub struct LayerDef {
    /// Its name in the DSL.
    pub name: &'static str,
    /// Other frameworks' names for it, with whose they are (`("Linear",
    /// "PyTorch's")`).
    pub aliases: &'static [(&'static str, &'static str)],
    /// Check an entry's arguments and infer its output shape.
    pub check: fn(&Site, &Shape, &mut Ctx) -> Step,
    /// The staticnn spelling of an entry written as another framework
    /// writes this layer (`alias` when under one of [`aliases`]), and
    /// whether an input size was dropped; `None` for a staticnn spelling.
    ///
    /// [`aliases`]: LayerDef::aliases
    pub foreign: fn(&Entry, bool) -> Option<(String, bool)>,
    /// Leaves the initialisation of the weight layer before it to the
    /// layer after it (Dropout, BatchNorm, pooling).
    pub transparent: bool,
    /// Makes the weight layer before it start He-initialised (the ReLU
    /// family).
    pub wants_he: bool,
}

impl LayerDef {
    /// A layer with no other spelling and no say in initialisation.
    const fn plain(name: &'static str, check: fn(&Site, &Shape, &mut Ctx) -> Step) -> Self {
        LayerDef {
            name,
            aliases: &[],
            check,
            foreign: no_foreign,
            transparent: false,
            wants_he: false,
        }
    }
}

/// For a layer whose other spellings only rename it.
pub fn no_foreign(_: &Entry, _: bool) -> Option<(String, bool)> {
    None
}

/// Every layer of the DSL. Networks used as layers are not here: they are
/// found by name among the networks declared before, or by `-> [..]`.
pub const ALL: &[&LayerDef] = &[
    &dense::DENSE,
    &conv2d::CONV2D,
    &pool::MAX_POOL,
    &pool::AVG_POOL,
    &pool::GLOBAL_AVG_POOL,
    &pool::ADAPTIVE_AVG_POOL,
    &pool::ADAPTIVE_MAX_POOL,
    &batch_norm::BATCH_NORM,
    &residual::RESIDUAL,
    &dropout::DROPOUT,
    &flatten::FLATTEN,
    &activation::STEP,
    &activation::SIGMOID,
    &activation::TANH,
    &activation::RELU,
    &activation::LEAKY_RELU,
    &activation::IDENTITY,
    &softmax::SOFTMAX,
    &custom::CUSTOM,
];

/// The layer called `name` in the DSL.
pub fn find(name: &str) -> Option<&'static LayerDef> {
    ALL.iter().copied().find(|d| d.name == name)
}

/// The layer another framework calls `alias`, and whose name it is.
pub fn by_alias(alias: &str) -> Option<(&'static LayerDef, &'static str)> {
    ALL.iter().find_map(|d| {
        d.aliases
            .iter()
            .find(|(a, _)| *a == alias)
            .map(|(_, whose)| (*d, *whose))
    })
}
