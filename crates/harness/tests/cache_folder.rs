//! The compiled-code cache through a real module (`hello.wasm`, built by `cargo xtask build`):
//! a folder other users can write is never used; a fresh one is created `0700` and gets `0600`
//! entries.

#![cfg(unix)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

fn build_with_cache(dir: &Path) {
    let hello = harness::guest_wasm("hello");
    assert!(
        hello.is_file(),
        "{} is missing; run `cargo xtask build`",
        hello.display()
    );
    harness::Harness::builder()
        .module(harness::ModuleConfig::new("/hello", hello))
        .cache(harness::CacheConfig {
            enabled: true,
            directory: Some(dir.to_path_buf()),
        })
        .build()
        .expect("the harness builds, with or without the cache");
}

fn entries(dir: &Path) -> Vec<std::fs::DirEntry> {
    std::fs::read_dir(dir)
        .expect("read the folder")
        .map(|e| e.expect("an entry"))
        .collect()
}

#[test]
fn a_folder_anyone_can_write_is_not_used() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let shared = tmp.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    build_with_cache(&shared);
    assert!(
        entries(&shared).is_empty(),
        "nothing is written to a folder others can write"
    );
}

#[test]
fn a_new_folder_is_private_and_its_entries_are_0600() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("cache/modules");
    build_with_cache(&dir);
    let meta = std::fs::metadata(&dir).expect("created");
    assert_eq!(meta.mode() & 0o777, 0o700);
    let files = entries(&dir);
    assert_eq!(files.len(), 1, "one entry, no temporary file left");
    let name = files[0].file_name().to_string_lossy().into_owned();
    assert!(name.ends_with(".cwasm"), "{name}");
    let file = files[0].metadata().expect("stat");
    assert!(file.file_type().is_file());
    assert_eq!(file.mode() & 0o777, 0o600);
    // A second start loads it (and writes nothing new).
    build_with_cache(&dir);
    assert_eq!(entries(&dir).len(), 1);
}
