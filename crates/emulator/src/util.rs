//! Small helpers: keys, HMAC, times, ids.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Decode a base64 key.
pub(crate) fn decode_key(key: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD.decode(key.trim())
}

/// base64(HMAC-SHA256(key, msg)).
pub(crate) fn hmac_b64(key: &[u8], msg: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable_hmac(),
    };
    mac.update(msg.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

#[cold]
fn unreachable_hmac() -> ! {
    unreachable!("HMAC-SHA256 accepts keys of any length")
}

/// Constant-time equality of two strings.
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Seconds since the epoch.
pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 with 7 fractional digits, like Azure (`2024-01-02T03:04:05.1234567Z`).
pub(crate) fn rfc3339_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.nanosecond() / 100
    )
}

/// A new random id (UUID v4).
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

static CLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A strictly increasing stamp (nanoseconds since the epoch, bumped when equal), used for ETags,
/// event sequencers and dead-letter keys.
pub(crate) fn next_stamp() -> u64 {
    use std::sync::atomic::Ordering;
    let now = time::OffsetDateTime::now_utc()
        .unix_timestamp_nanos()
        .max(0) as u64;
    let mut prev = CLOCK.load(Ordering::Relaxed);
    loop {
        let next = now.max(prev + 1);
        match CLOCK.compare_exchange(prev, next, Ordering::SeqCst, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(p) => prev = p,
        }
    }
}
