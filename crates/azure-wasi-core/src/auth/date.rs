//! The RFC 1123 date format of `x-ms-date`.

use azure_core::time::OffsetDateTime;

/// Formats a time as `Tue, 01 Nov 2022 00:00:00 GMT`.
///
/// ```
/// use azure_wasi_core::auth::rfc1123;
/// let t = azure_core::time::OffsetDateTime::from_unix_timestamp(1_667_260_800).unwrap();
/// assert_eq!(rfc1123(t), "Tue, 01 Nov 2022 00:00:00 GMT");
/// ```
pub fn rfc1123(time: OffsetDateTime) -> String {
    azure_core::time::to_rfc7231(&time)
}

/// The current time in `x-ms-date` format.
///
/// ```
/// let now = azure_wasi_core::auth::rfc1123_now();
/// assert!(now.ends_with(" GMT"));
/// ```
pub fn rfc1123_now() -> String {
    rfc1123(OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_services_expect() {
        let t = OffsetDateTime::from_unix_timestamp(1_704_164_645).unwrap();
        assert_eq!(rfc1123(t), "Tue, 02 Jan 2024 03:04:05 GMT");
    }
}
