//! The shared scripted transport (crates/azure-mock-transport).
#![allow(unused_imports)]
pub use azure_mock_transport::*;
