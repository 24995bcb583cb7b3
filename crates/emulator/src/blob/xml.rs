//! XML helpers: escaping for the bodies we write, and the block list parser.

use quick_xml::events::Event;
use quick_xml::Reader;

/// Escape text for an XML element or attribute.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `<name>text</name>`, escaped.
pub(crate) fn elem(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(text));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Which list a block of a Put Block List refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockKind {
    Committed,
    Uncommitted,
    Latest,
}

/// Why a block list was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlockListError {
    /// Not a well-formed `<BlockList>` document.
    Syntax(String),
    /// More than the allowed number of entries (parsing stopped there).
    TooLong,
}

impl From<String> for BlockListError {
    fn from(s: String) -> Self {
        BlockListError::Syntax(s)
    }
}

impl From<&str> for BlockListError {
    fn from(s: &str) -> Self {
        BlockListError::Syntax(s.to_string())
    }
}

/// Parse `<BlockList><Latest>id</Latest>...</BlockList>`, stopping with
/// [`BlockListError::TooLong`] as soon as it names more than `max_entries` blocks.
pub(crate) fn parse_block_list(
    body: &[u8],
    max_entries: usize,
) -> Result<Vec<(BlockKind, String)>, BlockListError> {
    let text = std::str::from_utf8(body).map_err(|_| "the block list is not UTF-8")?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut saw_root = false;
    let mut current: Option<BlockKind> = None;
    let mut value = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                let name = e.name();
                let name = std::str::from_utf8(name.as_ref()).unwrap_or("");
                match (depth, name) {
                    (1, "BlockList") => saw_root = true,
                    (1, other) => {
                        return Err(
                            format!("the root element must be BlockList, not {other}").into()
                        )
                    }
                    (2, "Committed") => current = Some(BlockKind::Committed),
                    (2, "Uncommitted") => current = Some(BlockKind::Uncommitted),
                    (2, "Latest") => current = Some(BlockKind::Latest),
                    (2, other) => {
                        return Err(format!(
                            "unexpected element {other}; expected Committed, Uncommitted or Latest"
                        )
                        .into())
                    }
                    _ => return Err("block ids must be text, not nested elements".into()),
                }
                value.clear();
            }
            Ok(Event::Empty(e)) => {
                let name = e.name();
                let name = std::str::from_utf8(name.as_ref()).unwrap_or("");
                if depth == 0 && name == "BlockList" {
                    saw_root = true;
                } else {
                    return Err(format!("empty element {name} in the block list").into());
                }
            }
            Ok(Event::Text(t)) => {
                let decoded = t
                    .decode()
                    .map_err(|e| format!("bad text in the block list: {e}"))?;
                value.push_str(&decoded);
            }
            Ok(Event::GeneralRef(r)) => {
                let name = r
                    .decode()
                    .map_err(|e| format!("bad entity in the block list: {e}"))?;
                match name.as_ref() {
                    "amp" => value.push('&'),
                    "lt" => value.push('<'),
                    "gt" => value.push('>'),
                    "quot" => value.push('"'),
                    "apos" => value.push('\''),
                    other if other.starts_with('#') => {
                        let code = if let Some(hex) = other.strip_prefix("#x") {
                            u32::from_str_radix(hex, 16).ok()
                        } else {
                            other[1..].parse::<u32>().ok()
                        };
                        match code.and_then(char::from_u32) {
                            Some(c) => value.push(c),
                            None => return Err(format!("bad character reference &{other};").into()),
                        }
                    }
                    other => {
                        return Err(format!("unknown entity &{other}; in the block list").into())
                    }
                }
            }
            Ok(Event::End(_)) => {
                if depth == 2 {
                    if let Some(kind) = current.take() {
                        if out.len() == max_entries {
                            return Err(BlockListError::TooLong);
                        }
                        out.push((kind, value.trim().to_string()));
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("the block list is not well-formed XML: {e}").into()),
        }
    }
    if !saw_root {
        return Err("the body must be a <BlockList> document".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_python_sdk_block_list() {
        let body = b"<?xml version='1.0' encoding='utf-8'?>\n<BlockList><Latest>QUFB</Latest><Committed>QkJC</Committed><Uncommitted>Q0&#67;D</Uncommitted></BlockList>";
        let got = parse_block_list(body, 3).expect("valid block list");
        assert_eq!(
            got,
            vec![
                (BlockKind::Latest, "QUFB".to_string()),
                (BlockKind::Committed, "QkJC".to_string()),
                (BlockKind::Uncommitted, "Q0CD".to_string()),
            ]
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_block_list(b"<Nope/>", 10).is_err());
        assert!(parse_block_list(b"not xml", 10).is_err());
        assert!(parse_block_list(b"<BlockList><Foo>x</Foo></BlockList>", 10).is_err());
    }

    #[test]
    fn stops_at_the_entry_limit() {
        let body = b"<BlockList><Latest>QQ==</Latest><Latest>QQ==</Latest></BlockList>";
        assert_eq!(parse_block_list(body, 1), Err(BlockListError::TooLong));
        assert_eq!(parse_block_list(body, 2).map(|v| v.len()), Ok(2));
    }

    #[test]
    fn escapes() {
        assert_eq!(escape("a<b&'\""), "a&lt;b&amp;&apos;&quot;");
    }
}
