//! Azure Blob Storage, Cosmos DB and EventGrid from WebAssembly HTTP handlers, with one
//! dependency and one attribute.
//!
//! Write the handler once; build it for `wasm32-wasip1` and it is a WAGI module (CGI, outbound
//! HTTP through `wasi_experimental_http`), build it for `wasm32-wasip2` and it is a wasi:http
//! component (for `wasmtime serve`, Spin, wasmCloud, ...). Nothing in the source says which.
//!
//! ```ignore
//! use azure_wasi::{handler, Request, Result};
//!
//! /// GET /hello?name=you
//! #[handler]
//! async fn handle(req: Request) -> Result<String> {
//!     Ok(format!("hello, {}\n", req.query("name").unwrap_or("world")))
//! }
//! ```
//!
//! - [`handler`]: the entry point attribute; [`Request`], [`Response`], [`IntoResponse`],
//!   [`Json`], and the `http` types a handler needs ([`Method`], [`StatusCode`], [`HeaderMap`]);
//! - [`Error`] / [`Result`]: every error of this crate family converts into [`Error`] with `?`,
//!   and becomes a response by one status policy (see [`Error`]);
//! - one module per Azure service, each behind a cargo feature (all on by default):
//!   [`storage`], [`cosmos`], [`eventgrid`]; [`azure`] holds `azure_core` and its WASI
//!   transport for other Azure clients;
//! - [`outbound`]: plain outbound HTTP, the same in both worlds.

#![warn(missing_docs)]

mod error;

#[cfg(feature = "json")]
pub use azure_wasi_handler::Json;
pub use azure_wasi_handler::{Body, BoxError, IntoResponse, Query, Request, Response};
pub use azure_wasi_macros::handler;
pub use error::{Error, Result};
pub use http::{self, header, HeaderMap, HeaderValue, Method, StatusCode};

/// Outbound HTTP from a handler, the same API in both worlds (`wasi_experimental_http` in a
/// module, wasi:http `outgoing-handler` in a component).
///
/// ```no_run
/// let response = azure_wasi::outbound::send_parts(
///     &azure_wasi::Method::GET,
///     "http://127.0.0.1:8080/status",
///     &azure_wasi::HeaderMap::new(),
///     b"",
/// )?;
/// println!("{}", response.status());
/// # Ok::<(), azure_wasi::outbound::Error>(())
/// ```
pub mod outbound {
    pub use azure_wasi_outbound::*;
}

/// The guest's async executor: [`runtime::spawn`], [`runtime::sleep`], [`runtime::block_on`].
///
/// ```
/// azure_wasi::runtime::block_on(azure_wasi::runtime::sleep(std::time::Duration::from_millis(1)));
/// ```
pub mod runtime {
    pub use azure_wasi_runtime::*;
}

/// `azure_core` with the WASI transport ([`azure::WasiHttpClient`]) and runtime, for Azure
/// clients beyond the three services (feature `azure`).
///
/// ```
/// let options = azure_wasi::azure::client_options();
/// assert!(options.transport.is_some());
/// ```
#[cfg(feature = "azure")]
pub mod azure {
    pub use azure_core;
    pub use azure_wasi_core::*;
}

/// Blob Storage (feature `storage`): the official `azure_storage_blob` clients with Shared Key
/// and SAS auth, settings from the module's environment. [`storage::Storage`] is the account
/// (`from_env()`, `new(settings)`, `with_options(settings, options)`), like
/// [`cosmos::Cosmos`] and [`eventgrid::EventGrid`].
///
/// ```
/// use azure_wasi::storage::{Storage, StorageSettings};
/// let settings = StorageSettings::from_lookup(|k| match k {
///     "STORAGE_ACCOUNT" => Some("acct".into()),
///     "STORAGE_MASTER_KEY" => Some("a2V5".into()),
///     _ => None,
/// })?;
/// let blob = Storage::new(settings).blob("photos", "cat.jpg")?;
/// assert_eq!(blob.url().as_str(), "https://acct.blob.core.windows.net/photos/cat.jpg");
/// let missing: azure_wasi::Error = StorageSettings::from_lookup(|_| None).unwrap_err().into();
/// assert_eq!(missing.status(), 500);
/// assert!(missing.to_string().contains("STORAGE_ACCOUNT"));
/// # Ok::<(), azure_wasi::Error>(())
/// ```
#[cfg(feature = "storage")]
pub mod storage {
    pub use azure_wasi_storage::*;
}

/// Cosmos DB (feature `cosmos`): databases, containers, items and queries with master-key auth.
///
/// ```
/// use azure_wasi::cosmos::{Cosmos, CosmosSettings, EMULATOR_KEY};
/// let cosmos = Cosmos::new(CosmosSettings::new("http://127.0.0.1:8081", EMULATOR_KEY)?);
/// assert_eq!(cosmos.database_client("app").container_client("notes").id(), "notes");
/// let missing: azure_wasi::Error = CosmosSettings::from_lookup(|_| None).unwrap_err().into();
/// assert_eq!(missing.status(), 500);
/// assert!(missing.to_string().contains("COSMOS_ENDPOINT"));
/// # Ok::<(), azure_wasi::Error>(())
/// ```
#[cfg(feature = "cosmos")]
pub mod cosmos {
    pub use azure_wasi_cosmos::*;
}

/// EventGrid (feature `eventgrid`): publishing events and answering webhooks.
///
/// ```
/// use azure_wasi::eventgrid::{parse_delivery, EventGridEvent};
/// let event = EventGridEvent::new("/blobs/a", "Demo.Created", [1, 2])?;
/// assert_eq!(event.event_type, "Demo.Created");
/// let bad: azure_wasi::Error = parse_delivery(b"{not json").unwrap_err().into();
/// assert_eq!(bad.status(), 400);
/// # Ok::<(), azure_wasi::Error>(())
/// ```
#[cfg(feature = "eventgrid")]
pub mod eventgrid {
    pub use azure_wasi_eventgrid::*;
}

/// What `#[handler]` expands to needs; not a public API.
#[doc(hidden)]
pub mod __private {
    #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
    pub use azure_wasi_handler::{__private::wasip2, serve, serve_sync};
    pub use azure_wasi_handler::{run, run_sync};
}
