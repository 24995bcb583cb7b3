//! The data-plane role names the emulators look for in a token's `roles` claim, named after
//! Azure's built-in roles. A valid token without one of them is refused with 403, as Azure
//! refuses a principal without a role assignment.

/// Blob: read containers and blobs.
pub const BLOB_READER: &str = "Storage Blob Data Reader";
/// Blob: read, write and delete.
pub const BLOB_CONTRIBUTOR: &str = "Storage Blob Data Contributor";
/// Blob: everything a contributor may, and more in Azure.
pub const BLOB_OWNER: &str = "Storage Blob Data Owner";
/// Cosmos DB: read metadata, items and queries.
pub const COSMOS_READER: &str = "Cosmos DB Built-in Data Reader";
/// Cosmos DB: read and write.
pub const COSMOS_CONTRIBUTOR: &str = "Cosmos DB Built-in Data Contributor";
/// EventGrid: publish events to a topic.
pub const EVENTGRID_SENDER: &str = "EventGrid Data Sender";

/// Roles that may read Blob data.
pub const BLOB_READ: &[&str] = &[BLOB_READER, BLOB_CONTRIBUTOR, BLOB_OWNER];
/// Roles that may write Blob data.
pub const BLOB_WRITE: &[&str] = &[BLOB_CONTRIBUTOR, BLOB_OWNER];
/// Roles that may read Cosmos DB data.
pub const COSMOS_READ: &[&str] = &[COSMOS_READER, COSMOS_CONTRIBUTOR];
/// Roles that may write Cosmos DB data.
pub const COSMOS_WRITE: &[&str] = &[COSMOS_CONTRIBUTOR];
/// Roles that may publish to EventGrid.
pub const EVENTGRID_SEND: &[&str] = &[EVENTGRID_SENDER];
