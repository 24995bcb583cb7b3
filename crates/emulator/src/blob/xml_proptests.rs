//! Property tests of the Put Block List parser: no body panics, every refusal says what was
//! wrong, and generated block lists parse to the same ids in the same order.

use proptest::prelude::*;

use super::xml::{escape, parse_block_list, BlockKind, BlockListError};

fn assert_clear(err: &BlockListError) -> Result<(), TestCaseError> {
    if let BlockListError::Syntax(reason) = err {
        let names_it = ["block", "BlockList", "element", "entity", "reference"]
            .iter()
            .any(|w| reason.contains(w));
        prop_assert!(
            reason.len() >= 10 && names_it,
            "unclear reason {:?}",
            reason
        );
    }
    Ok(())
}

fn kind() -> impl Strategy<Value = BlockKind> {
    prop_oneof![
        Just(BlockKind::Committed),
        Just(BlockKind::Uncommitted),
        Just(BlockKind::Latest),
    ]
}

fn tag(kind: BlockKind) -> &'static str {
    match kind {
        BlockKind::Committed => "Committed",
        BlockKind::Uncommitted => "Uncommitted",
        BlockKind::Latest => "Latest",
    }
}

/// Block ids: base64 as the SDKs send them, and sometimes characters that need escaping.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9+/]{0,63}={0,2}",
        1 => "[A-Za-z0-9<>&'\"é😀]{1,12}",
    ]
}

/// Ways of writing an id's text: plain escaping, or character references.
fn write_id(id: &str, style: u8) -> String {
    match style {
        0 => escape(id),
        1 => id.chars().map(|c| format!("&#{};", c as u32)).collect(),
        _ => id.chars().map(|c| format!("&#x{:X};", c as u32)).collect(),
    }
}

/// A block list document, and what it names.
fn document() -> impl Strategy<Value = (Vec<u8>, Vec<(BlockKind, String)>)> {
    (
        prop::collection::vec((kind(), id(), 0u8..3, "[ \t\r\n]{0,2}"), 0..40),
        any::<bool>(),
        "[ \t\r\n]{0,3}",
    )
        .prop_map(|(entries, declaration, space)| {
            let mut doc = String::new();
            if declaration {
                doc.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
            }
            doc.push_str("<BlockList>");
            doc.push_str(&space);
            for (kind, id, style, pad) in &entries {
                let t = tag(*kind);
                doc.push_str(&format!(
                    "<{t}>{pad}{}{pad}</{t}>{space}",
                    write_id(id, *style)
                ));
            }
            doc.push_str("</BlockList>");
            let names = entries.into_iter().map(|(k, id, _, _)| (k, id)).collect();
            (doc.into_bytes(), names)
        })
}

fn check(body: &[u8], max: usize) -> Result<Option<Vec<(BlockKind, String)>>, TestCaseError> {
    match parse_block_list(body, max) {
        Ok(list) => {
            prop_assert!(list.len() <= max);
            Ok(Some(list))
        }
        Err(e) => {
            assert_clear(&e)?;
            Ok(None)
        }
    }
}

/// Snippets that turn a block list into a nearly valid one.
fn snippet() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(&[
            "<",
            ">",
            "</",
            "/>",
            "&",
            "&amp;",
            "&bogus;",
            "&#;",
            "&#x;",
            "&#xD800;",
            "&#1114112;",
            "&#99999999999;",
            "<BlockList>",
            "</BlockList>",
            "<Latest>",
            "</Latest>",
            "<Committed/>",
            "<Other>",
            "<!--",
            "-->",
            "<![CDATA[x]]>",
            "<?pi?>",
            "<!DOCTYPE x>",
            "\"",
            "'",
            "\0",
            "\u{FEFF}",
            "=",
            "<a b='c'>",
        ])
        .prop_map(String::from),
        "\\PC{1,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..200), max in 0usize..5) {
        check(&body, max)?;
    }

    #[test]
    fn arbitrary_text_never_panics(body in "\\PC{0,120}") {
        check(body.as_bytes(), 10)?;
    }

    #[test]
    fn generated_lists_parse_to_the_same_ids_in_order((doc, names) in document()) {
        let got = parse_block_list(&doc, names.len());
        prop_assert_eq!(got, Ok(names.clone()), "{}", String::from_utf8_lossy(&doc));
    }

    #[test]
    fn the_entry_limit_is_exact((doc, names) in document(), max in 0usize..45) {
        match parse_block_list(&doc, max) {
            Ok(list) => {
                prop_assert!(names.len() <= max);
                prop_assert_eq!(list, names);
            }
            Err(e) => {
                prop_assert_eq!(e, BlockListError::TooLong);
                prop_assert!(names.len() > max);
            }
        }
    }

    #[test]
    fn cut_lists_never_panic_and_name_only_complete_entries(
        (doc, names) in document(),
        cut in any::<prop::sample::Index>(),
    ) {
        let cut = cut.index(doc.len() + 1);
        if let Some(list) = check(&doc[..cut], names.len())? {
            // Whatever a cut document yields is entries that were really there, in order.
            prop_assert!(list.len() <= names.len());
            prop_assert_eq!(&list[..], &names[..list.len()]);
        }
    }

    #[test]
    fn mutated_lists_never_panic(
        (doc, _) in document(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, snippet()), 1..4),
    ) {
        let mut doc = doc;
        for (at, kind, snippet) in edits {
            let i = at.index(doc.len() + 1);
            match kind {
                0 => {
                    doc.splice(i..i, snippet.bytes());
                }
                1 => {
                    let end = (i + snippet.len()).min(doc.len());
                    doc.splice(i..end, snippet.bytes());
                }
                _ => {
                    let end = (i + snippet.len()).min(doc.len());
                    doc.drain(i..end);
                }
            }
        }
        check(&doc, 64)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]

    /// A block-list bomb: the parse stops at the limit instead of reading it all.
    #[test]
    fn huge_lists_stop_at_the_limit(n in 50_000usize..100_000, max in any::<prop::sample::Index>()) {
        let max = max.index(n);
        let mut doc = String::from("<BlockList>");
        for _ in 0..n {
            doc.push_str("<Latest>QUFB</Latest>");
        }
        doc.push_str("</BlockList>");
        prop_assert_eq!(parse_block_list(doc.as_bytes(), max), Err(BlockListError::TooLong));
        prop_assert_eq!(parse_block_list(doc.as_bytes(), n).map(|l| l.len()), Ok(n));
    }
}
