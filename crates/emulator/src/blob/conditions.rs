//! Conditional headers (`If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`)
//! and `Range` / `x-ms-range`.

use http::{HeaderMap, StatusCode};

use super::error::{BlobError, BlobResult};

fn norm(tag: &str) -> &str {
    let t = tag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.trim_matches('"')
}

fn list_matches(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .any(|t| t.trim() == "*" || norm(t) == norm(etag))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn date(h: &HeaderMap, name: &str) -> BlobResult<Option<i64>> {
    match header(h, name) {
        None => Ok(None),
        Some(v) => httpdate::parse_http_date(v)
            .map(|t| {
                Some(
                    t.duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs() as i64)
                        .unwrap_or(0),
                )
            })
            .map_err(|_| BlobError::invalid_header(name, "expected an RFC 1123 date")),
    }
}

/// What a read should do after the conditions.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadOutcome {
    Proceed,
    NotModified,
}

/// Conditions of a read (GET/HEAD) on an existing resource.
pub(crate) fn check_read(h: &HeaderMap, etag: &str, last_modified: i64) -> BlobResult<ReadOutcome> {
    if let Some(im) = header(h, "if-match") {
        if !list_matches(im, etag) {
            return Err(BlobError::condition_not_met());
        }
    } else if let Some(t) = date(h, "if-unmodified-since")? {
        if last_modified > t {
            return Err(BlobError::condition_not_met());
        }
    }
    if let Some(inm) = header(h, "if-none-match") {
        if list_matches(inm, etag) {
            return Ok(ReadOutcome::NotModified);
        }
    } else if let Some(t) = date(h, "if-modified-since")? {
        if last_modified <= t {
            return Ok(ReadOutcome::NotModified);
        }
    }
    Ok(ReadOutcome::Proceed)
}

/// Conditions of a write; `existing` is the current (etag, last-modified) if the blob exists.
/// `If-None-Match: *` on an existing blob is 409 BlobAlreadyExists, as in Azure.
pub(crate) fn check_write(h: &HeaderMap, existing: Option<(&str, i64)>) -> BlobResult<()> {
    match existing {
        None => {
            if header(h, "if-match").is_some() {
                return Err(BlobError::condition_not_met());
            }
            if date(h, "if-unmodified-since")?.is_some() {
                return Err(BlobError::condition_not_met());
            }
            date(h, "if-modified-since")?;
            Ok(())
        }
        Some((etag, lm)) => {
            if let Some(im) = header(h, "if-match") {
                if !list_matches(im, etag) {
                    return Err(BlobError::condition_not_met());
                }
            }
            if let Some(t) = date(h, "if-unmodified-since")? {
                if lm > t {
                    return Err(BlobError::condition_not_met());
                }
            }
            if let Some(inm) = header(h, "if-none-match") {
                if inm.trim() == "*" {
                    return Err(BlobError::new(
                        StatusCode::CONFLICT,
                        "BlobAlreadyExists",
                        "The specified blob already exists.",
                    ));
                }
                if list_matches(inm, etag) {
                    return Err(BlobError::condition_not_met());
                }
            }
            if let Some(t) = date(h, "if-modified-since")? {
                if lm <= t {
                    return Err(BlobError::condition_not_met());
                }
            }
            Ok(())
        }
    }
}

/// Parse `x-ms-range` (preferred) or `Range` against a blob of `size` bytes.
/// `Ok(None)`: no (usable) range, serve everything, as Azure does for a malformed header.
/// Returns the inclusive `(start, end)`.
pub(crate) fn range(h: &HeaderMap, size: u64) -> BlobResult<Option<(u64, u64)>> {
    let Some(raw) = header(h, "x-ms-range").or_else(|| header(h, "range")) else {
        return Ok(None);
    };
    let Some(spec) = raw.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let Ok(start) = a.trim().parse::<u64>() else {
        return Ok(None);
    };
    let end = match b.trim() {
        "" => None,
        e => match e.parse::<u64>() {
            Ok(e) if e >= start => Some(e),
            _ => return Ok(None),
        },
    };
    if start >= size {
        return Err(BlobError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "The range specified is invalid for the current size of the resource.",
        )
        .with_header("content-range", format!("bytes */{size}")));
    }
    let end = end.unwrap_or(size - 1).min(size - 1);
    Ok(Some((start, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            if let Ok(v) = v.parse() {
                m.insert(*k, v);
            }
        }
        m
    }

    #[test]
    fn ranges() {
        assert!(matches!(
            range(&h(&[("x-ms-range", "bytes=2-4")]), 10),
            Ok(Some((2, 4)))
        ));
        assert!(matches!(
            range(&h(&[("range", "bytes=2-")]), 10),
            Ok(Some((2, 9)))
        ));
        assert!(matches!(
            range(&h(&[("range", "bytes=0-99")]), 10),
            Ok(Some((0, 9)))
        ));
        assert!(matches!(range(&h(&[("range", "bytes=5-2")]), 10), Ok(None)));
        assert!(matches!(range(&h(&[("range", "items=1-2")]), 10), Ok(None)));
        assert!(range(&h(&[("range", "bytes=10-")]), 10).is_err());
        assert!(range(&h(&[("range", "bytes=0-")]), 0).is_err());
    }

    #[test]
    fn conditions() {
        let tag = "\"0x1\"";
        assert_eq!(
            check_read(&h(&[("if-none-match", tag)]), tag, 5).ok(),
            Some(ReadOutcome::NotModified)
        );
        assert!(check_read(&h(&[("if-match", "\"0x2\"")]), tag, 5).is_err());
        assert!(check_write(&h(&[("if-none-match", "*")]), Some((tag, 5)))
            .is_err_and(|e| e.status == StatusCode::CONFLICT));
        assert!(check_write(&h(&[("if-none-match", "*")]), None).is_ok());
        assert!(check_write(&h(&[("if-match", "*")]), None).is_err());
        assert!(check_write(&h(&[("if-match", tag)]), Some((tag, 5))).is_ok());
    }
}
