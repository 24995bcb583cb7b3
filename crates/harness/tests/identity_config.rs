//! The `[identity]` table and a module's `identity = { scopes = [...] }` as the harness reads
//! them from its config file, with the mistakes a person makes reported with the fix.

use harness::identity::CredentialKind;
use harness::HarnessConfig;

fn parse(text: &str) -> Result<HarnessConfig, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("m.wasm"), b"").expect("module file");
    HarnessConfig::from_toml(text, dir.path())
}

#[test]
fn identity_table_and_module_scopes_are_read() {
    let cfg = parse(
        r#"
        [identity]
        credential = "azure-cli"
        tenant_id = "00000000-0000-0000-0000-000000000001"
        refresh_before_secs = 120

        [[module]]
        route = "/blob"
        module = "m.wasm"
        identity = { scopes = ["https://storage.azure.com/.default", "https://cosmos.azure.com/.default"] }

        [[module]]
        route = "/plain"
        module = "m.wasm"
        "#,
    )
    .expect("valid config");
    let identity = cfg.identity.expect("[identity]");
    assert_eq!(identity.credential, CredentialKind::AzureCli);
    assert_eq!(identity.refresh_before().as_secs(), 120);
    assert_eq!(
        cfg.modules[0].identity.scopes,
        [
            "https://storage.azure.com/.default",
            "https://cosmos.azure.com/.default"
        ]
    );
    assert!(cfg.modules[1].identity.scopes.is_empty());
    assert!(
        cfg.modules[0].identity.broker.is_none(),
        "the broker is attached at build time"
    );
}

#[test]
fn mistakes_name_the_fix() {
    let err = parse(
        "[[module]]\nroute = \"/b\"\nmodule = \"m.wasm\"\nidentity = { scopes = [\"https://storage.azure.com\"] }\n",
    )
    .expect_err("a scope without /.default");
    assert!(
        err.contains("/.default") && err.contains("[[module]] #1"),
        "{err}"
    );

    let err = parse("[identity]\ncredential = \"client-secret\"\n[[module]]\nroute = \"/b\"\nmodule = \"m.wasm\"\n")
        .expect_err("an unsupported credential");
    assert!(
        err.contains("managed-identity") && err.contains("azure-cli"),
        "{err}"
    );

    let err = parse("[[module]]\nroute = \"/b\"\nmodule = \"m.wasm\"\nidentity = { scope = [] }\n")
        .expect_err("a typo");
    assert!(err.contains("scopes"), "{err}");
}

#[test]
fn without_an_identity_table_there_is_no_broker() {
    let cfg = parse("[[module]]\nroute = \"/b\"\nmodule = \"m.wasm\"\n").expect("valid");
    assert!(cfg.identity.is_none());
}
