//! Compiling modules and components, with compiled code cached on disk by content hash.
//!
//! The cache key is the SHA-256 of the `.wasm` bytes plus wasmtime's compatibility hash of the
//! engine's settings, so a changed module, wasmtime version or setting never loads stale code.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

use crate::CacheConfig;

/// Where compiled modules go when the config names no folder.
///
/// ```
/// let dir = harness::default_cache_dir();
/// assert!(dir.ends_with("modules"));
/// ```
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("azure-wasi-harness").join("modules")
}

/// Whether a load came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Compiled,
    Cache,
}

/// Something wasmtime compiles and can save as a `.cwasm`: a [`Module`] or a [`Component`].
pub(crate) trait Compiled: Sized {
    /// Compiles `wasm`.
    fn compile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Self>;
    /// Loads code that [`Compiled::serialize`] wrote.
    ///
    /// # Safety
    /// `file` must hold the output of `serialize` for a compatible engine (see [`load`]).
    unsafe fn deserialize_file(engine: &Engine, file: &Path) -> wasmtime::Result<Self>;
    /// The compiled code, as bytes.
    fn serialize(&self) -> wasmtime::Result<Vec<u8>>;
}

impl Compiled for Module {
    fn compile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Self> {
        Module::new(engine, wasm)
    }
    unsafe fn deserialize_file(engine: &Engine, file: &Path) -> wasmtime::Result<Self> {
        // SAFETY: forwarded from the caller's contract.
        unsafe { Module::deserialize_file(engine, file) }
    }
    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        Module::serialize(self)
    }
}

impl Compiled for Component {
    fn compile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Self> {
        Component::new(engine, wasm)
    }
    unsafe fn deserialize_file(engine: &Engine, file: &Path) -> wasmtime::Result<Self> {
        // SAFETY: forwarded from the caller's contract.
        unsafe { Component::deserialize_file(engine, file) }
    }
    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        Component::serialize(self)
    }
}

/// Loads `wasm` (the bytes of a module or component file) compiled, from the cache when possible.
pub(crate) fn load<T: Compiled>(
    engine: &Engine,
    wasm: &[u8],
    cache: &CacheConfig,
) -> wasmtime::Result<(T, Source)> {
    if !cache.enabled {
        return Ok((T::compile(engine, wasm)?, Source::Compiled));
    }
    let dir = cache.directory.clone().unwrap_or_else(default_cache_dir);
    let file = dir.join(format!("{}.cwasm", key(engine, wasm)));
    if file.is_file() {
        // SAFETY: the file is in the harness's own cache folder, was written by `store` below
        // for this engine configuration (the key includes its compatibility hash and the hash
        // of the bytes, which differ between a module and a component), and wasmtime re-checks
        // the header, including whether it holds a module or a component, before use.
        match unsafe { T::deserialize_file(engine, &file) } {
            Ok(compiled) => return Ok((compiled, Source::Cache)),
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "ignoring unusable cache entry")
            }
        }
    }
    let compiled = T::compile(engine, wasm)?;
    if let Err(e) = store(&dir, &file, &compiled) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot write the compiled-code cache; starts will be slower");
    }
    Ok((compiled, Source::Compiled))
}

fn key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let mut sha = Sha256::new();
    sha.update(wasm);
    sha.update(hasher.finish().to_le_bytes());
    sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn store<T: Compiled>(dir: &Path, file: &Path, compiled: &T) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = compiled.serialize().map_err(std::io::Error::other)?;
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file)
}
