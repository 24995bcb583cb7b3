//! The README's handler examples are real code: the blob handler it shows is the `blob-read`
//! sample verbatim, which `cargo xtask build` compiles for both targets and the sample tests run.

#[test]
fn readme_shows_the_blob_read_sample_verbatim() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let sample =
        std::fs::read_to_string(root.join("samples/blob-read/src/main.rs")).expect("the sample");
    let block = format!("```rust\n{sample}```");
    assert!(
        readme.contains(&block),
        "README.md must show samples/blob-read/src/main.rs verbatim in a ```rust block; copy it again"
    );
}
