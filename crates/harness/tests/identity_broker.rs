//! The token broker with the official `azure_identity` managed-identity credential, pointed at
//! the emulators' test identity endpoint exactly as App Service exposes one
//! (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`). This binary sets those process variables, so it
//! holds this one test only.

use std::sync::Arc;

use emulator::identity::{EVENTGRID_AUDIENCE, STORAGE_AUDIENCE};
use harness::identity::{IdentityConfig, TokenBroker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_tokens_are_fetched_once_per_scope_and_verify() {
    let mut cfg = emulator::EmulatorsConfig::default().with_free_ports();
    cfg.identity.enabled = true;
    let emus = emulator::Emulators::start(cfg).await.expect("emulators");
    let id = emus.identity().expect("identity endpoint");
    // SAFETY of the test: no other test in this binary reads the environment.
    std::env::set_var("IDENTITY_ENDPOINT", id.endpoint());
    std::env::set_var("IDENTITY_HEADER", id.identity_header());

    let config: IdentityConfig =
        toml::from_str("credential = \"managed-identity\"").expect("config");
    let broker = Arc::new(TokenBroker::from_config(&config).expect("managed identity credential"));

    // A thousand concurrent requests for one scope: one fetch from the credential, one token
    // issued by the endpoint.
    let storage = format!("{STORAGE_AUDIENCE}/.default");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let broker = broker.clone();
        let scope = storage.clone();
        tasks.spawn(async move {
            broker
                .token(&scope)
                .await
                .map(|t| t.token.secret().to_string())
        });
    }
    let mut tokens = std::collections::HashSet::new();
    while let Some(done) = tasks.join_next().await {
        tokens.insert(done.expect("task").expect("token"));
    }
    assert_eq!(tokens.len(), 1, "every request got the same cached token");
    assert_eq!(broker.fetches(), 1, "one fetch from the credential");
    assert_eq!(
        id.tokens_issued(),
        1,
        "one request reached the identity endpoint"
    );

    // The token is the endpoint's, for the storage audience, and the Blob emulator accepts it.
    let token = tokens.into_iter().next().expect("one token");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = id
        .issuer()
        .verify(&token, STORAGE_AUDIENCE, now)
        .expect("valid token");
    assert!(claims.exp > now + 600);

    // Another scope: its own fetch; the first stays cached.
    let eg = broker
        .token(&format!("{EVENTGRID_AUDIENCE}/.default"))
        .await
        .expect("token");
    id.issuer()
        .verify(eg.token.secret(), EVENTGRID_AUDIENCE, now)
        .expect("eventgrid audience");
    broker.token(&storage).await.expect("cached");
    assert_eq!(broker.fetches(), 2);
    assert_eq!(id.tokens_issued(), 2);

    // A broken endpoint: an error that names the credential and holds no token.
    id_refusal(&broker, &token).await;
    emus.shutdown().await;
}

async fn id_refusal(broker: &TokenBroker, token: &str) {
    // The emulator endpoint rejects a scope with an empty resource (400), which the
    // credential reports; nothing of the earlier token leaks into the message.
    let err = broker.token("/.default").await.expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("managed identity"), "{text}");
    assert!(!text.contains(token));
}
