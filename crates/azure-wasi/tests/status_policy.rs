//! One table: every kind of failure, pushed through each service crate's error and then the
//! facade's `Error`, must give the status of the one policy (`azure_wasi_core::status_policy`),
//! keep the service's `Retry-After`, and never show a key, a signature or a SAS query.

use azure_wasi::azure::azure_core::error::{Error as CoreError, ErrorKind};
use azure_wasi::{cosmos, eventgrid, storage, IntoResponse, StatusCode};

/// A well-formed key that must never appear in a message.
const KEY: &str = "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXktc2VjcmV0LWtleQ==";
/// A signature as a service might echo it back.
const SIGNATURE: &str = "Zm9yZ2VkLXNpZ25hdHVyZS1mb3JnZWQtc2lnbmF0dXJlLWZvcmdlZA==";

/// The failures of the policy table, each as the three crates raise it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    MissingSetting,
    InvalidKey,
    InvalidEndpoint,
    BadInput,
    Service(u16),
    Throttled,
    DeniedDestination,
    Unreachable,
}

fn denied() -> CoreError {
    let outbound = azure_wasi::outbound::Error::from_code(
        7,
        "PUT",
        &format!("http://127.0.0.1:9/c/b?sig={KEY}"),
    );
    CoreError::new(ErrorKind::Other, outbound)
}

fn unreachable() -> CoreError {
    CoreError::with_message(ErrorKind::Io, "connection refused")
}

fn storage_error(kind: Kind) -> storage::Error {
    use storage::StorageSettings as S;
    match kind {
        Kind::MissingSetting => S::from_lookup(|_| None).unwrap_err(),
        Kind::InvalidKey => S::new("acct", "!!not base64!!", None).unwrap_err(),
        Kind::InvalidEndpoint => {
            S::new("acct", KEY, Some(&format!("ftp://h/acct?sig={KEY}"))).unwrap_err()
        }
        Kind::BadInput => storage::Storage::new(S::new("acct", KEY, None).unwrap())
            .container("Bad_Name")
            .unwrap_err(),
        Kind::Service(status) => storage::Error::Service {
            status,
            code: Some("AuthenticationFailed".into()),
            message: azure_wasi::azure::status_policy::redact(&format!(
                "signature '{SIGNATURE}' differs for http://h/c?sig={KEY}"
            )),
            retry_after: None,
        },
        Kind::Throttled => storage::Error::Service {
            status: 503,
            code: Some("ServerBusy".into()),
            message: "busy".into(),
            retry_after: Some("7".into()),
        },
        Kind::DeniedDestination => denied().into(),
        Kind::Unreachable => unreachable().into(),
    }
}

fn cosmos_error(kind: Kind) -> cosmos::Error {
    use cosmos::CosmosSettings as S;
    match kind {
        Kind::MissingSetting => S::from_lookup(|_| None).unwrap_err(),
        Kind::InvalidKey => S::new("http://127.0.0.1:8081", "!!not base64!!").unwrap_err(),
        Kind::InvalidEndpoint => S::new(&format!("ftp://h/?sig={KEY}"), KEY).unwrap_err(),
        Kind::BadInput => cosmos::Error::InvalidName {
            what: "item",
            name: "a/b".into(),
            reason: "it may not contain '/'",
        },
        Kind::Service(status) => cosmos::Error::Service {
            status,
            code: Some("Forbidden".into()),
            message: azure_wasi::azure::status_policy::redact(&format!(
                "The input authorization token {SIGNATURE} can't serve the request"
            )),
            retry_after: None,
            sub_status: None,
            activity_id: None,
        },
        Kind::Throttled => cosmos::Error::Service {
            status: 429,
            code: Some("TooManyRequests".into()),
            message: "Request rate is large".into(),
            retry_after: Some("7".into()),
            sub_status: Some(3200),
            activity_id: None,
        },
        Kind::DeniedDestination => denied().into(),
        Kind::Unreachable => unreachable().into(),
    }
}

fn eventgrid_error(kind: Kind) -> eventgrid::Error {
    use eventgrid::{EventGridCredential as C, EventGridSettings as S};
    match kind {
        Kind::MissingSetting => S::from_lookup(|_| None).unwrap_err(),
        Kind::InvalidKey => eventgrid::generate_sas(
            "http://t/api/events",
            "!!not base64!!",
            azure_wasi::azure::azure_core::time::OffsetDateTime::now_utc(),
        )
        .unwrap_err(),
        Kind::InvalidEndpoint => {
            S::new(&format!("ftp://h/?sig={KEY}"), C::Key(KEY.into())).unwrap_err()
        }
        Kind::BadInput => eventgrid::parse_delivery(b"{not json").unwrap_err(),
        Kind::Service(status) => eventgrid::Error::Service {
            status,
            code: Some("Unauthorized".into()),
            message: azure_wasi::azure::status_policy::redact(&format!(
                "key {KEY} is not authorized"
            )),
            retry_after: None,
        },
        Kind::Throttled => eventgrid::Error::Service {
            status: 503,
            code: None,
            message: "busy".into(),
            retry_after: Some("7".into()),
        },
        Kind::DeniedDestination => denied().into(),
        Kind::Unreachable => unreachable().into(),
    }
}

#[test]
fn every_failure_gets_the_policy_status_in_every_crate_and_the_facade() {
    // (kind, status, Retry-After, a word the message must contain)
    let table: &[(Kind, u16, Option<&str>, &str)] = &[
        (Kind::MissingSetting, 500, None, "<SERVICE>_"),
        (Kind::InvalidKey, 500, None, "<SERVICE>_"),
        (Kind::InvalidEndpoint, 500, None, "<SERVICE>_ENDPOINT"),
        (Kind::BadInput, 400, None, ""),
        (Kind::Service(404), 404, None, "404"),
        (Kind::Service(409), 409, None, "409"),
        (Kind::Service(412), 412, None, "412"),
        (Kind::Service(400), 502, None, "400"),
        (Kind::Service(403), 502, None, "403"),
        (Kind::Service(500), 502, None, "500"),
        (Kind::Service(429), 503, None, "429"),
        (Kind::Throttled, 503, Some("7"), ""),
        (Kind::DeniedDestination, 502, None, "allowed_hosts"),
        (Kind::Unreachable, 502, None, "allowed_hosts"),
    ];
    for &(kind, status, retry_after, word) in table {
        let errors: [(&str, StatusCode, Option<String>, azure_wasi::Error); 3] = [
            {
                let e = storage_error(kind);
                (
                    "storage",
                    e.status(),
                    e.retry_after().map(str::to_string),
                    e.into(),
                )
            },
            {
                let e = cosmos_error(kind);
                (
                    "cosmos",
                    e.status(),
                    e.retry_after().map(str::to_string),
                    e.into(),
                )
            },
            {
                let e = eventgrid_error(kind);
                (
                    "eventgrid",
                    e.status(),
                    e.retry_after().map(str::to_string),
                    e.into(),
                )
            },
        ];
        for (service, own_status, own_retry, facade) in errors {
            let what = format!("{service} {kind:?}");
            assert_eq!(own_status, status, "{what}: the crate's status");
            assert_eq!(
                own_retry.as_deref(),
                retry_after,
                "{what}: the crate's Retry-After"
            );
            assert_eq!(facade.status(), status, "{what}: the facade's status");
            assert_eq!(
                facade.retry_after(),
                retry_after,
                "{what}: the facade's Retry-After"
            );
            let message = facade.to_string();
            let word = word.replace("<SERVICE>", &service.to_uppercase());
            assert!(message.contains(&word), "{what}: {message} (wants {word})");
            for secret in [KEY, SIGNATURE, "sig="] {
                assert!(
                    !message.contains(secret),
                    "{what} leaks {secret}: {message}"
                );
            }
            let response = facade.into_response();
            assert_eq!(response.status(), status, "{what}: the response");
            let header = response
                .headers()
                .find(|(n, _)| n.as_str() == "retry-after")
                .map(|(_, v)| v.to_str().unwrap_or_default().to_string());
            assert_eq!(
                header.as_deref(),
                retry_after,
                "{what}: the Retry-After header"
            );
        }
    }
}
