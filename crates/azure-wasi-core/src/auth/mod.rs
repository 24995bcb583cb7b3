//! Key-based authentication helpers shared by the service crates.
//!
//! Azure Storage (Shared Key, SAS), Cosmos DB (master key) and EventGrid (SAS) all sign a
//! service-specific string with HMAC-SHA256 over a base64-encoded account key. This module gives
//! the common parts:
//!
//! - [`SigningKey`]: a decoded key that signs strings and never prints itself;
//! - [`RequestSigner`] and [`SigningPolicy`]: an `azure_core` per-try policy that signs each
//!   attempt after every other header is final, so retries are signed afresh;
//! - [`rfc1123_now`]: the `x-ms-date` format the services expect.
//!
//! ```
//! use azure_wasi_core::auth::SigningKey;
//! let key = SigningKey::from_base64("a2V5").unwrap();
//! assert_eq!(key.sign("message").len(), 44);
//! ```

mod date;
mod key;
mod policy;
mod token;

pub use date::{rfc1123, rfc1123_now};
pub use key::SigningKey;
pub use policy::{add_signing_policy, RequestSigner, SigningPolicy};
pub use token::{add_token_policy, TokenFormat, TokenPolicy};
