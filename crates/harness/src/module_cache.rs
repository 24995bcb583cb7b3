//! Compiling modules and components, with compiled code cached on disk by content hash.
//!
//! The cache key is the SHA-256 of the `.wasm` bytes plus wasmtime's compatibility hash of the
//! engine's settings, so a changed module, wasmtime version or setting never loads stale code.
//!
//! Cached code is loaded as trusted native code, so the folder must be one only this user can
//! change: it is created `0700`, and a folder owned by another user or writable by group or
//! others is refused (the harness then compiles every module and says why in the log). There is
//! no fallback to a shared temporary folder. Files are written under a fresh name opened with
//! `create_new` (`O_EXCL`, which never follows a symbolic link) and mode `0600`, then renamed
//! into place; a cache entry that is not a regular file owned by this user is ignored.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

use crate::CacheConfig;

/// Where compiled modules go when the config names no folder:
/// `$XDG_CACHE_HOME/azure-wasi-harness/modules`, else `$HOME/.cache/azure-wasi-harness/modules`.
///
/// `None` when neither variable holds an absolute path: the harness then runs without the cache
/// rather than keep code it will run natively in a folder other users share (such as `/tmp`).
///
/// ```
/// if let Some(dir) = harness::default_cache_dir() {
///     assert!(dir.is_absolute());
///     assert!(dir.ends_with("azure-wasi-harness/modules"));
/// }
/// ```
pub fn default_cache_dir() -> Option<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|h| h.join(".cache")))?;
    Some(base.join("azure-wasi-harness").join("modules"))
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
    let Some(dir) = usable_dir(cache) else {
        return Ok((T::compile(engine, wasm)?, Source::Compiled));
    };
    let file = dir.join(format!("{}.cwasm", key(engine, wasm)));
    match trusted_entry(&file) {
        Ok(true) => {
            // SAFETY: the file is a regular file owned by this user in a folder that only this
            // user can change (checked by `usable_dir` and `trusted_entry`); it was written by
            // `store` below for this engine configuration (the key includes its compatibility
            // hash and the hash of the bytes, which differ between a module and a component),
            // and wasmtime re-checks the header, including whether it holds a module or a
            // component, before use.
            match unsafe { T::deserialize_file(engine, &file) } {
                Ok(compiled) => return Ok((compiled, Source::Cache)),
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %e, "ignoring unusable cache entry")
                }
            }
        }
        Ok(false) => {}
        Err(why) => tracing::warn!(file = %file.display(), "ignoring cache entry: {why}"),
    }
    let compiled = T::compile(engine, wasm)?;
    let stored = compiled
        .serialize()
        .map_err(std::io::Error::other)
        .and_then(|bytes| store(&file, &bytes));
    if let Err(e) = stored {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot write the compiled-code cache; starts will be slower");
    }
    Ok((compiled, Source::Compiled))
}

/// The cache folder to use, created and checked; `None` (with one log line per folder saying
/// why and how to fix it) when the cache is off or the folder cannot be trusted.
fn usable_dir(cache: &CacheConfig) -> Option<PathBuf> {
    if !cache.enabled {
        return None;
    }
    let Some(dir) = cache.directory.clone().or_else(default_cache_dir) else {
        warn_once(
            Path::new(""),
            "compiled-code cache off: neither XDG_CACHE_HOME nor HOME is an absolute path, and a shared temporary folder is never used; set `directory` in the [cache] table to a folder only this user can write",
        );
        return None;
    };
    match prepare_dir(&dir) {
        Ok(dir) => Some(dir),
        Err(why) => {
            warn_once(
                &dir,
                &format!("compiled-code cache off, every module is compiled at start: {why}"),
            );
            None
        }
    }
}

/// Logs `message` the first time `dir` is refused in this process (every module load asks).
fn warn_once(dir: &Path, message: &str) {
    static WARNED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let first = match WARNED.lock() {
        Ok(mut seen) => seen
            .get_or_insert_with(HashSet::new)
            .insert(dir.to_path_buf()),
        Err(_) => true,
    };
    if first {
        tracing::warn!(dir = %dir.display(), "{message}");
    }
}

/// Creates `dir` (mode `0700`, parents too) when missing, then checks that it is a folder owned
/// by this user that nobody else can write. Returns its canonical path, which every later
/// operation uses, or why it is refused and how to fix that.
fn prepare_dir(dir: &Path) -> Result<PathBuf, String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| {
        format!(
            "cannot create {}: {e}; create it (mode 700) or set another [cache] directory",
            dir.display()
        )
    })?;
    let canonical =
        std::fs::canonicalize(dir).map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
    let meta = std::fs::metadata(&canonical)
        .map_err(|e| format!("cannot read {}: {e}", canonical.display()))?;
    if !meta.is_dir() {
        return Err(format!(
            "{} is not a folder; remove it or set another [cache] directory",
            canonical.display()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        check_owner_and_mode(&canonical, meta.uid(), meta.mode(), current_uid())?;
    }
    Ok(canonical)
}

/// The effective user id of this process.
#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Refuses a cache folder owned by another user or writable by group or others.
#[cfg(unix)]
fn check_owner_and_mode(dir: &Path, owner: u32, mode: u32, me: u32) -> Result<(), String> {
    if owner != me {
        return Err(format!(
            "{} is owned by uid {owner}, not by this user (uid {me}), and cached code runs as native code; use a folder of your own (set `directory` in the [cache] table) or `chown` this one",
            dir.display()
        ));
    }
    if mode & 0o022 != 0 {
        return Err(format!(
            "{} is writable by other users (mode {:o}), and cached code runs as native code; run `chmod 700 {}` or set another [cache] directory",
            dir.display(),
            mode & 0o7777,
            dir.display()
        ));
    }
    Ok(())
}

/// Whether a cache entry exists and may be loaded: `Ok(false)` when it is missing, an error when
/// it is something other than a regular file owned by this user and writable only by it.
fn trusted_entry(file: &Path) -> Result<bool, String> {
    let meta = match std::fs::symlink_metadata(file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.to_string()),
    };
    if !meta.file_type().is_file() {
        return Err("not a regular file (a symbolic link or another kind); it is replaced".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = current_uid();
        if meta.uid() != me || meta.mode() & 0o022 != 0 {
            return Err(format!(
                "owned by uid {} with mode {:o}, expected uid {me} and no write access for others; it is replaced",
                meta.uid(),
                meta.mode() & 0o7777
            ));
        }
    }
    Ok(true)
}

fn key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let mut sha = Sha256::new();
    sha.update(wasm);
    sha.update(hasher.finish().to_le_bytes());
    sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to `file` through a fresh temporary name in the same folder.
fn store(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let names = std::iter::repeat_with(|| {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        temp_name(file, std::process::id(), n)
    })
    .take(8);
    store_via(file, bytes, names)
}

/// `.<file name>.<pid>.<n>.tmp` next to `file`.
fn temp_name(file: &Path, pid: u32, n: u64) -> PathBuf {
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    file.with_file_name(format!(".{name}.{pid}.{n}.tmp"))
}

/// Writes `bytes` under the first of `names` that does not exist yet (anything already there,
/// a symbolic link included, is skipped, never opened), then renames it to `file`.
fn store_via(
    file: &Path,
    bytes: &[u8],
    names: impl IntoIterator<Item = PathBuf>,
) -> std::io::Result<()> {
    let mut last = None;
    for tmp in names {
        match write_new(&tmp, bytes) {
            Ok(()) => {
                return std::fs::rename(&tmp, file).inspect_err(|_| {
                    let _ = std::fs::remove_file(&tmp);
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary name to write to")))
}

/// Creates `path` (which must not exist: `O_EXCL`, so a symbolic link there is not followed)
/// with mode `0600`, writes `bytes` and syncs them; removes it again on failure.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    }
    let mut f = options.open(path)?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;

    #[test]
    fn a_new_folder_is_created_0700_and_accepted() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/modules");
        let used = prepare_dir(&dir).unwrap();
        assert_eq!(used, std::fs::canonicalize(&dir).unwrap());
        let meta = std::fs::metadata(&dir).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o700);
        assert_eq!(meta.uid(), current_uid());
    }

    #[test]
    fn a_folder_others_can_write_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        for mode in [0o777, 0o1777, 0o770, 0o702] {
            let dir = tmp.path().join(format!("m{mode:o}"));
            std::fs::create_dir(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
            let why = prepare_dir(&dir).unwrap_err();
            assert!(why.contains("writable by other users"), "{why}");
            assert!(why.contains("chmod 700"), "{why}");
            let cache = CacheConfig {
                enabled: true,
                directory: Some(dir),
            };
            assert_eq!(usable_dir(&cache), None);
        }
        // Read access for others is no risk to the code that is loaded: accepted.
        let dir = tmp.path().join("m755");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        prepare_dir(&dir).unwrap();
    }

    #[test]
    fn a_folder_of_another_user_is_refused() {
        let me = current_uid();
        let other = me.wrapping_add(4242);
        let why = check_owner_and_mode(Path::new("/c"), other, 0o40700, me).unwrap_err();
        assert!(why.contains("not by this user"), "{why}");
        assert!(why.contains("chown"), "{why}");
        check_owner_and_mode(Path::new("/c"), me, 0o40700, me).unwrap();
        // The real check, where this process may hand a folder to another user (root).
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("theirs");
        std::fs::create_dir(&dir).unwrap();
        let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; chown only fails when not permitted.
        if unsafe { libc::chown(c.as_ptr(), other, u32::MAX) } == 0 {
            let why = prepare_dir(&dir).unwrap_err();
            assert!(why.contains("not by this user"), "{why}");
        }
    }

    #[test]
    fn a_symlinked_folder_is_judged_by_its_target() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("shared");
        std::fs::create_dir(&target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o777)).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(prepare_dir(&link)
            .unwrap_err()
            .contains("writable by other users"));
    }

    #[test]
    fn files_are_written_0600_through_a_new_name() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = prepare_dir(tmp.path()).unwrap();
        let file = dir.join("k.cwasm");
        store(&file, b"code").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"code");
        let meta = std::fs::symlink_metadata(&file).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(trusted_entry(&file), Ok(true));
        // Nothing but the entry is left behind.
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(names.len(), 1);
        // An existing temporary name is never reused.
        let taken = dir.join("taken");
        std::fs::write(&taken, b"old").unwrap();
        let err = write_new(&taken, b"new").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&taken).unwrap(), b"old");
    }

    #[test]
    fn a_planted_symlink_at_the_temporary_name_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = prepare_dir(&tmp.path().join("cache")).unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let file = dir.join("k.cwasm");
        let planted = temp_name(&file, 7, 0);
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        // A dangling link is not followed either (O_CREAT would create its target).
        let dangling_target = tmp.path().join("created-through-link");
        let dangling = temp_name(&file, 7, 1);
        std::os::unix::fs::symlink(&dangling_target, &dangling).unwrap();

        let err = store_via(&file, b"code", [planted.clone(), dangling.clone()]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(!dangling_target.exists());
        assert!(!file.exists());

        // With a free name after it, the entry is written there and the link left alone.
        store_via(&file, b"code", [planted.clone(), temp_name(&file, 7, 2)]).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"code");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(std::fs::symlink_metadata(&planted)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn a_symlinked_or_foreign_entry_is_not_loaded() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = prepare_dir(tmp.path()).unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::write(&elsewhere, b"code").unwrap();
        let link = dir.join("l.cwasm");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        assert!(trusted_entry(&link).unwrap_err().contains("regular file"));
        let open = dir.join("o.cwasm");
        std::fs::write(&open, b"code").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(trusted_entry(&open).unwrap_err().contains("mode 666"));
        assert_eq!(trusted_entry(&dir.join("missing.cwasm")), Ok(false));
        // Storing replaces the link itself, not what it points at.
        store(&link, b"new").unwrap();
        assert_eq!(std::fs::read(&elsewhere).unwrap(), b"code");
        assert_eq!(trusted_entry(&link), Ok(true));
    }

    #[test]
    fn a_disabled_cache_uses_no_folder() {
        let cache = CacheConfig {
            enabled: false,
            directory: None,
        };
        assert_eq!(usable_dir(&cache), None);
    }
}
