//! The environment a request carries: the module's variables and, in a WAGI module, the CGI
//! ones. It is one buffer of `NAME=value` entries with the place of each entry, so reading a
//! WAGI request's twenty-odd variables costs two allocations instead of two per variable.

/// Environment variables kept in one buffer, looked up by name (the first entry of a name
/// wins). Crate-private: [`crate::Request::env`] is how a handler reads it; the unit tests below
/// are its examples.
#[derive(Debug, Default)]
pub(crate) struct Environment {
    /// The entries, each `NAME=value` followed by a NUL.
    text: String,
    /// Where each entry's name starts, where it ends (at its `=`) and where its value ends.
    entries: Vec<(usize, usize, usize)>,
}

impl Environment {
    /// The environment of `pairs`, in their order.
    pub(crate) fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut env = Self::default();
        for (name, value) in pairs {
            let start = env.text.len();
            env.text.push_str(&name);
            env.text.push('=');
            env.text.push_str(&value);
            env.entries
                .push((start, start + name.len(), env.text.len()));
            env.text.push('\0');
        }
        env
    }

    /// The environment as the host hands it over: `NAME=value` entries each ended by a NUL, and
    /// where each begins (`starts`, when the host said). Bytes that are not UTF-8 are decoded
    /// lossily; an entry without `=` after its first byte is skipped, as the standard library
    /// does.
    #[cfg_attr(
        not(all(target_arch = "wasm32", target_os = "wasi", target_env = "p1")),
        allow(dead_code)
    )]
    fn from_entries(bytes: Vec<u8>, starts: Option<&[usize]>) -> Self {
        match String::from_utf8(bytes) {
            Ok(text) => match starts.and_then(|starts| entries_at(&text, starts)) {
                Some(entries) => Self { text, entries },
                None => Self::scanned(text),
            },
            // Decoding moved the bytes, so the places are found again.
            Err(e) => Self::scanned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        }
    }

    /// The entries of `text`, found in one pass: an entry ends at its NUL, its name at the first
    /// `=` after its first byte.
    fn scanned(text: String) -> Self {
        let mut entries = Vec::new();
        let (mut start, mut name_end) = (0, None);
        for (at, byte) in text.bytes().enumerate() {
            match byte {
                0 => {
                    if let Some(name_end) = name_end.take() {
                        entries.push((start, name_end, at));
                    }
                    start = at + 1;
                }
                b'=' if name_end.is_none() && at > start => name_end = Some(at),
                _ => {}
            }
        }
        if let Some(name_end) = name_end {
            entries.push((start, name_end, text.len()));
        }
        Self { text, entries }
    }

    /// This process's environment: read straight from the host in both worlds (in a WAGI
    /// module one buffer, no copy per variable), from the standard library elsewhere.
    pub(crate) fn of_process() -> Self {
        #[cfg(all(target_arch = "wasm32", target_os = "wasi", target_env = "p1"))]
        if let Some((bytes, starts)) = crate::wasip1::environment_entries() {
            return Self::from_entries(bytes, starts.as_deref());
        }
        #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
        {
            Self::from_pairs(wasip2::cli::environment::get_environment())
        }
        #[cfg(not(all(target_arch = "wasm32", target_env = "p2")))]
        {
            Self::of_std()
        }
    }

    /// The environment as the standard library reads it; a variable that is not UTF-8 is
    /// decoded lossily instead of panicking.
    #[cfg(not(all(target_arch = "wasm32", target_env = "p2")))]
    fn of_std() -> Self {
        let owned = |s: std::ffi::OsString| {
            s.into_string()
                .unwrap_or_else(|s| s.to_string_lossy().into_owned())
        };
        Self::from_pairs(std::env::vars_os().map(|(k, v)| (owned(k), owned(v))))
    }

    /// The value of variable `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// The variables as `(name, value)`, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|&(start, name_end, end)| {
            // The ranges are at ASCII bytes of `text`, so `get` always finds them (and, unlike
            // indexing, links no panic path into the guest).
            let text = |range: std::ops::Range<usize>| self.text.get(range).unwrap_or_default();
            (text(start..name_end), text(name_end + 1..end))
        })
    }
}

/// The entries of `text` that begin at `starts`, reading only their names: each entry ends at
/// the NUL just before the next one begins (the last at the end of `text`). `None` when the
/// places do not describe `text` that way (the first not at 0, one not after the previous, or a
/// missing NUL); the caller then scans. A NUL inside an entry is not looked for (that would
/// read every byte again): a host whose pointers skip an entry gives it as part of the value
/// before it, as a C program reading that `environ` would see it.
fn entries_at(text: &str, starts: &[usize]) -> Option<Vec<(usize, usize, usize)>> {
    let bytes = text.as_bytes();
    if starts.first().copied().unwrap_or(bytes.len()) != 0 {
        return None;
    }
    let mut entries = Vec::with_capacity(starts.len());
    for (i, &start) in starts.iter().enumerate() {
        let end = starts
            .get(i + 1)
            .copied()
            .unwrap_or(bytes.len())
            .checked_sub(1)?;
        if start > end || bytes.get(end) != Some(&0) {
            return None;
        }
        let entry = bytes.get(start..end)?;
        if let Some(eq) = entry.iter().skip(1).position(|&b| b == b'=') {
            entries.push((start, start + 1 + eq, end));
        }
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_from_the_host_are_read_in_place() {
        let env = Environment::from_entries(b"A=1\0EMPTY=\0Q=x=y\0=C:=c\0NOEQ\0".to_vec(), None);
        let all: Vec<_> = env.iter().collect();
        assert_eq!(all, [("A", "1"), ("EMPTY", ""), ("Q", "x=y"), ("=C:", "c")]);
        assert_eq!(env.get("Q"), Some("x=y"));
        assert_eq!(env.get("NOEQ"), None, "an entry without `=` is skipped");
        assert_eq!(env.get("Q=x"), None, "whole names only");
    }

    #[test]
    fn the_hosts_places_are_used_when_they_fit_and_a_scan_otherwise() {
        let bytes = b"A=1\0EMPTY=\0Q=x=y\0=C:=c\0NOEQ\0";
        let text = std::str::from_utf8(bytes).unwrap();
        let scanned = Environment::from_entries(bytes.to_vec(), None).entries;
        assert_eq!(scanned.len(), 4);
        assert_eq!(entries_at(text, &[0, 4, 11, 17, 23]), Some(scanned.clone()));
        let bad: [&[usize]; 5] = [
            &[1, 4, 11, 17, 23], // the first entry not at 0
            &[0, 11, 4, 17, 23], // out of order
            &[0, 5, 11, 17, 23], // not just after a NUL
            &[0, 4, 11, 17, 99], // past the end
            &[],                 // none for non-empty entries
        ];
        for starts in bad {
            assert_eq!(entries_at(text, starts), None, "{starts:?}");
            let env = Environment::from_entries(bytes.to_vec(), Some(starts));
            assert_eq!(env.entries, scanned, "{starts:?} falls back to the scan");
        }
        assert_eq!(entries_at("", &[]), Some(vec![]));
    }

    #[test]
    fn non_utf8_bytes_are_decoded_lossily_and_later_entries_kept() {
        let env = Environment::from_entries(b"BAD=\xff\xfe\0GOOD=yes\0".to_vec(), Some(&[0, 7]));
        assert_eq!(env.get("BAD"), Some("\u{fffd}\u{fffd}"));
        assert_eq!(env.get("GOOD"), Some("yes"));
    }

    #[test]
    fn pairs_keep_their_order_and_the_first_of_a_name_wins() {
        let env = Environment::from_pairs(
            [("K", "first"), ("X", "a=b"), ("K", "second")]
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        assert_eq!(env.get("K"), Some("first"));
        assert_eq!(env.get("X"), Some("a=b"));
        assert_eq!(env.iter().count(), 3);
        assert_eq!(Environment::from_pairs([]).get("K"), None);
    }

    #[test]
    fn the_process_environment_matches_the_standard_library() {
        let env = Environment::of_process();
        for (k, v) in std::env::vars() {
            assert_eq!(env.get(&k), Some(v.as_str()), "{k}");
        }
    }
}
