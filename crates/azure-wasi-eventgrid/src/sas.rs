//! EventGrid SAS tokens (`aeg-sas-token`).

use crate::{Error, Result};
use azure_core::time::OffsetDateTime;
use azure_wasi_core::auth::SigningKey;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters is escaped (like Python's `quote(safe="")`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// The expiry text Microsoft's SDK writes: `2030-01-01 00:00:00+00:00`.
///
/// ```
/// let t = azure_core::time::OffsetDateTime::from_unix_timestamp(1_893_456_000).unwrap();
/// assert_eq!(azure_wasi_eventgrid::format_expiry(t), "2030-01-01 00:00:00+00:00");
/// ```
pub fn format_expiry(expiry: OffsetDateTime) -> String {
    let t = expiry.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}+00:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A SAS token for `endpoint` (the topic URL, `.../api/events`) valid until `expiry`.
///
/// ```
/// let expiry = azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
/// let token = azure_wasi_eventgrid::generate_sas(
///     "https://t.westus2-1.eventgrid.azure.net/api/events", "a2V5", expiry).unwrap();
/// assert!(token.starts_with("r=https%3A%2F%2Ft."));
/// ```
pub fn generate_sas(endpoint: &str, key_base64: &str, expiry: OffsetDateTime) -> Result<String> {
    generate_sas_with_expiry_text(endpoint, key_base64, &format_expiry(expiry))
}

/// Like [`generate_sas`] with the expiry already formatted (any format the service accepts).
///
/// ```
/// let token = azure_wasi_eventgrid::generate_sas_with_expiry_text(
///     "https://t/api/events", "a2V5", "2030-01-01 00:00:00+00:00").unwrap();
/// assert!(token.contains("&e=2030-01-01%2000%3A00%3A00%2B00%3A00&s="));
/// ```
pub fn generate_sas_with_expiry_text(
    endpoint: &str,
    key_base64: &str,
    expiry_text: &str,
) -> Result<String> {
    let key = SigningKey::from_base64(key_base64).map_err(|_| Error::InvalidKey {
        name: "EVENTGRID_KEY",
    })?;
    let resource = enc(&format!(
        "{endpoint}?apiVersion={}",
        crate::EVENTGRID_API_VERSION
    ));
    let expiry = enc(expiry_text);
    let unsigned = format!("r={resource}&e={expiry}");
    let signature = enc(&key.sign(&unsigned));
    Ok(format!("{unsigned}&s={signature}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn microsoft_vector_passes_exactly() {
        let v: Value =
            serde_json::from_str(include_str!("../../../testdata/vectors/eventgrid.json")).unwrap();
        for case in v["sas_cases"].as_array().unwrap() {
            let token = generate_sas_with_expiry_text(
                case["endpoint"].as_str().unwrap(),
                case["key"].as_str().unwrap(),
                case["expiry_text"].as_str().unwrap(),
            )
            .unwrap();
            assert_eq!(token, case["aeg_sas_token"].as_str().unwrap());
            // And with a real time formatted the SDK's way.
            let expiry = OffsetDateTime::from_unix_timestamp(1_893_456_000).unwrap();
            assert_eq!(format_expiry(expiry), case["expiry_text"].as_str().unwrap());
            let token2 = generate_sas(
                case["endpoint"].as_str().unwrap(),
                case["key"].as_str().unwrap(),
                expiry,
            )
            .unwrap();
            assert_eq!(token2, token);
        }
    }

    #[test]
    fn bad_key_is_reported_without_the_key() {
        let e =
            generate_sas_with_expiry_text("https://t/api/events", "!!secret!!", "x").unwrap_err();
        assert!(!e.to_string().contains("secret"));
    }
}
