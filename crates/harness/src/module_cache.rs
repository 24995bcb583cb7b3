//! Compiling modules, with compiled code cached on disk by content hash.
//!
//! The cache key is the SHA-256 of the `.wasm` bytes plus wasmtime's compatibility hash of the
//! engine's settings, so a changed module, wasmtime version or setting never loads stale code.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
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

/// Loads `wasm` (the bytes of `path`) as a module, from the cache when possible.
pub(crate) fn load(
    engine: &Engine,
    wasm: &[u8],
    cache: &CacheConfig,
) -> wasmtime::Result<(Module, Source)> {
    if !cache.enabled {
        return Ok((Module::new(engine, wasm)?, Source::Compiled));
    }
    let dir = cache.directory.clone().unwrap_or_else(default_cache_dir);
    let file = dir.join(format!("{}.cwasm", key(engine, wasm)));
    if file.is_file() {
        // SAFETY: the file is in the harness's own cache folder, was written by `serialize`
        // below for this engine configuration (the key includes its compatibility hash), and
        // wasmtime re-checks the header before use.
        match unsafe { Module::deserialize_file(engine, &file) } {
            Ok(module) => return Ok((module, Source::Cache)),
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "ignoring unusable cache entry")
            }
        }
    }
    let module = Module::new(engine, wasm)?;
    if let Err(e) = store(&dir, &file, &module) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot write the compiled-code cache; starts will be slower");
    }
    Ok((module, Source::Compiled))
}

fn key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let mut sha = Sha256::new();
    sha.update(wasm);
    sha.update(hasher.finish().to_le_bytes());
    sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn store(dir: &Path, file: &Path, module: &Module) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = module.serialize().map_err(std::io::Error::other)?;
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file)
}
