//! Microsoft.Storage.BlobCreated / BlobDeleted system events, published in-process.

use serde_json::{json, Value};

use super::model::BlobRecord;
use super::router::Ctx;

/// Everything but RFC 3986 unreserved characters is escaped in blob URLs.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn blob_url(ctx: &Ctx) -> String {
    let encoded: String = ctx
        .blob()
        .split('/')
        .map(|seg| percent_encoding::utf8_percent_encode(seg, UNRESERVED).to_string())
        .collect::<Vec<_>>()
        .join("/");
    format!(
        "{}/{}/{}/{}",
        ctx.svc.base_url(),
        ctx.account,
        ctx.container(),
        encoded
    )
}

fn envelope(ctx: &Ctx, event_type: &str, data: Value) -> Value {
    json!({
        "topic": format!(
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator/providers/Microsoft.Storage/storageAccounts/{}",
            ctx.account
        ),
        "subject": format!("/blobServices/default/containers/{}/blobs/{}", ctx.container(), ctx.blob()),
        "eventType": event_type,
        "eventTime": crate::util::rfc3339_now(),
        "id": crate::util::new_id(),
        "data": data,
        "dataVersion": "",
        "metadataVersion": "1",
    })
}

fn sequencer(rec: &BlobRecord) -> String {
    format!("{:032X}", rec.sequencer)
}

async fn publish(ctx: &Ctx, event: Value) {
    if let Some((publisher, topic)) = &ctx.svc.events {
        publisher.publish_system(topic, vec![event]).await;
    }
}

/// Publish BlobCreated after Put Blob or Put Block List.
pub(crate) async fn blob_created(ctx: &Ctx, rec: &BlobRecord, api: &str) {
    if ctx.svc.events.is_none() {
        return;
    }
    let data = json!({
        "api": api,
        "clientRequestId": ctx.header("x-ms-client-request-id").unwrap_or(""),
        "requestId": ctx.request_id,
        "eTag": rec.etag.trim_matches('"'),
        "contentType": rec.content_type,
        "contentLength": rec.size,
        "blobType": "BlockBlob",
        "url": blob_url(ctx),
        "sequencer": sequencer(rec),
        "storageDiagnostics": { "batchId": crate::util::new_id() },
    });
    publish(ctx, envelope(ctx, "Microsoft.Storage.BlobCreated", data)).await;
}

/// Publish BlobDeleted after Delete Blob.
pub(crate) async fn blob_deleted(ctx: &Ctx, rec: &BlobRecord) {
    if ctx.svc.events.is_none() {
        return;
    }
    let data = json!({
        "api": "DeleteBlob",
        "clientRequestId": ctx.header("x-ms-client-request-id").unwrap_or(""),
        "requestId": ctx.request_id,
        "contentType": rec.content_type,
        "blobType": "BlockBlob",
        "url": blob_url(ctx),
        "sequencer": sequencer(rec),
        "storageDiagnostics": { "batchId": crate::util::new_id() },
    });
    publish(ctx, envelope(ctx, "Microsoft.Storage.BlobDeleted", data)).await;
}
