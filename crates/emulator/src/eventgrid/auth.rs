//! EventGrid publisher authentication: `aeg-sas-key` and `aeg-sas-token`.
//!
//! A SAS token is `r=<enc resource>&e=<enc expiry>&s=<enc base64 HMAC-SHA256(base64-decoded
//! key, "r=<enc resource>&e=<enc expiry>")>`, as Microsoft's SDKs build it.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::util::{ct_eq, decode_key, hmac_b64};

/// Characters Python's `urllib.parse.quote(s, safe='')` leaves alone.
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Build an `aeg-sas-token` for `resource` (the topic endpoint URL, conventionally with
/// `?apiVersion=2018-01-01`) expiring at `expiry_text` (any format [`parse_expiry`] accepts).
///
/// ```
/// let t = emulator::eventgrid::auth::generate_sas_token(
///     "http://127.0.0.1:8082/api/events?apiVersion=2018-01-01",
///     "2030-01-01T00:00:00Z",
///     emulator::DEV_TOPIC_KEY,
/// ).unwrap();
/// assert!(t.starts_with("r=http%3A%2F%2F127.0.0.1"));
/// ```
pub fn generate_sas_token(
    resource: &str,
    expiry_text: &str,
    key_b64: &str,
) -> crate::Result<String> {
    let key = decode_key(key_b64)
        .map_err(|_| crate::Error::Config("the topic key is not valid base64".into()))?;
    let r = utf8_percent_encode(resource, QUOTE).to_string();
    let e = utf8_percent_encode(expiry_text, QUOTE).to_string();
    let signed = format!("r={r}&e={e}");
    let s = hmac_b64(&key, &signed);
    Ok(format!("{signed}&s={}", utf8_percent_encode(&s, QUOTE)))
}

/// Parse a SAS expiry: Python's `str(datetime)` (`2030-01-01 00:00:00+00:00`, optional
/// fraction, naive means UTC), RFC 3339, RFC 1123, or .NET's en-US `1/1/2030 12:00:00 AM`.
/// Returns Unix seconds.
///
/// ```
/// use emulator::eventgrid::auth::parse_expiry;
/// assert_eq!(parse_expiry("1970-01-01 00:01:00+00:00"), Some(60));
/// assert_eq!(parse_expiry("1970-01-01T00:01:00Z"), Some(60));
/// assert_eq!(parse_expiry("Thu, 01 Jan 1970 00:01:00 GMT"), Some(60));
/// assert_eq!(parse_expiry("1/1/1970 12:01:00 AM"), Some(60));
/// assert_eq!(parse_expiry("soon"), None);
/// ```
pub fn parse_expiry(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    let t = text.trim();
    if let Ok(d) = time::OffsetDateTime::parse(t, &Rfc3339) {
        return Some(d.unix_timestamp());
    }
    // Python: "YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM]".
    if t.len() >= 19 && t.as_bytes().get(10) == Some(&b' ') {
        let mut s = t.replacen(' ', "T", 1);
        let tail = &s[19..];
        let has_offset = tail.contains('+') || tail.contains('-') || tail.ends_with('Z');
        if !has_offset {
            s.push('Z');
        }
        if let Ok(d) = time::OffsetDateTime::parse(&s, &Rfc3339) {
            return Some(d.unix_timestamp());
        }
    }
    if let Ok(st) = httpdate::parse_http_date(t) {
        return st
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs() as i64);
    }
    parse_dotnet(t)
}

/// `M/d/yyyy h:mm:ss AM|PM` (UTC).
fn parse_dotnet(t: &str) -> Option<i64> {
    let mut parts = t.split_whitespace();
    let date = parts.next()?;
    let clock = parts.next()?;
    let ampm = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let mut d = date.split('/').map(|x| x.parse::<u32>().ok());
    let (month, day, year) = (d.next()??, d.next()??, d.next()??);
    let mut c = clock.split(':').map(|x| x.parse::<u32>().ok());
    let (mut hour, minute, second) = (c.next()??, c.next()??, c.next()??);
    match (ampm, hour) {
        ("AM", 12) => hour = 0,
        ("AM", 1..=11) => {}
        ("PM", 12) => {}
        ("PM", 1..=11) => hour += 12,
        _ => return None,
    }
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?)
            .ok()?;
    let tm = time::Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    Some(
        time::PrimitiveDateTime::new(date, tm)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// Why a token was refused (safe to show: it never contains the key or signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SasError {
    /// Not `r=..&e=..&s=..`.
    Malformed(&'static str),
    /// The signature does not match the topic key.
    BadSignature,
    /// The expiry has passed.
    Expired(String),
    /// The expiry is in no known format.
    BadExpiry(String),
    /// The token was made for another topic.
    WrongResource(String),
}

impl std::fmt::Display for SasError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SasError::Malformed(w) => write!(f, "the aeg-sas-token is malformed: {w}; expected r=<resource>&e=<expiry>&s=<signature>"),
            SasError::BadSignature => write!(f, "the aeg-sas-token signature does not match the topic key; sign \"r=<enc resource>&e=<enc expiry>\" with HMAC-SHA256 of the base64-decoded key"),
            SasError::Expired(e) => write!(f, "the aeg-sas-token expired at `{e}`; create a new token"),
            SasError::BadExpiry(e) => write!(f, "the aeg-sas-token expiry `{e}` is not a date this service understands (RFC 3339, RFC 1123 or `YYYY-MM-DD HH:MM:SS+00:00`)"),
            SasError::WrongResource(r) => write!(f, "the aeg-sas-token was made for `{r}`, not for this topic's endpoint"),
        }
    }
}

/// Verify an `aeg-sas-token` against a topic key, the request path (`/api/events` or
/// `/<topic>/api/events`) and the current Unix time. The resource's path must equal the request
/// path (host names are not compared, so tokens made for an emulator or cloud URL both work).
///
/// ```
/// use emulator::eventgrid::auth::{generate_sas_token, verify_sas_token};
/// let key = emulator::DEV_TOPIC_KEY;
/// let t = generate_sas_token("http://localhost/api/events?apiVersion=2018-01-01", "2030-01-01T00:00:00Z", key).unwrap();
/// assert!(verify_sas_token(&t, key, "/api/events", 0).is_ok());
/// assert!(verify_sas_token(&t, key, "/other/api/events", 0).is_err());
/// ```
pub fn verify_sas_token(
    token: &str,
    key_b64: &str,
    request_path: &str,
    now: i64,
) -> Result<(), SasError> {
    let (mut r, mut e, mut s) = (None, None, None);
    for part in token.trim().split('&') {
        if let Some(v) = part.strip_prefix("r=") {
            r = Some(v);
        } else if let Some(v) = part.strip_prefix("e=") {
            e = Some(v);
        } else if let Some(v) = part.strip_prefix("s=") {
            s = Some(v);
        }
    }
    let r = r.ok_or(SasError::Malformed("no r= part"))?;
    let e = e.ok_or(SasError::Malformed("no e= part"))?;
    let s = s.ok_or(SasError::Malformed("no s= part"))?;
    let key = decode_key(key_b64).map_err(|_| SasError::BadSignature)?;
    let expected = hmac_b64(&key, &format!("r={r}&e={e}"));
    let given = percent_decode_str(s).decode_utf8_lossy();
    if !ct_eq(&expected, &given) {
        return Err(SasError::BadSignature);
    }
    // A literal `+` is a form-encoded space (.NET); a real plus sign arrives as %2B.
    let expiry_text = percent_decode_str(&e.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned();
    let expiry =
        parse_expiry(&expiry_text).ok_or_else(|| SasError::BadExpiry(expiry_text.clone()))?;
    if now >= expiry {
        return Err(SasError::Expired(expiry_text));
    }
    let resource = percent_decode_str(r).decode_utf8_lossy().into_owned();
    let path = resource_path(&resource);
    if !path
        .trim_end_matches('/')
        .eq_ignore_ascii_case(request_path.trim_end_matches('/'))
    {
        return Err(SasError::WrongResource(resource));
    }
    Ok(())
}

fn resource_path(resource: &str) -> &str {
    let no_query = resource.split(['?', '#']).next().unwrap_or("");
    match no_query.find("://") {
        Some(i) => {
            let rest = &no_query[i + 3..];
            rest.find('/').map(|j| &rest[j..]).unwrap_or("/")
        }
        None => no_query,
    }
}

/// Check an `aeg-sas-key` against the topic key.
pub(crate) fn verify_key(given: &str, key: &str) -> bool {
    ct_eq(given.trim(), key)
}
