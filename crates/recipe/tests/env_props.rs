//! Property tests of the env-file parser: rendering a map and parsing it back gives the map,
//! expansion of earlier keys, quote semantics, and no panic on arbitrary input.

use std::collections::BTreeMap;

use proptest::prelude::*;
use recipe::env::{parse, quote, render};

fn key() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,12}"
}

proptest! {
    #[test]
    fn render_then_parse_round_trips(map in prop::collection::btree_map(key(), any::<String>(), 0..12)) {
        let parsed = parse(&render(&map)).unwrap();
        prop_assert_eq!(parsed.active_map(), map);
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = parse(&text);
    }

    #[test]
    fn arbitrary_env_like_text_never_panics(text in "([A-Z#'\"$={} \\\\\n]|export |[a-z0-9]){0,80}") {
        let _ = parse(&text);
    }

    #[test]
    fn earlier_keys_expand_in_double_quotes_and_unquoted(v in "[A-Za-z0-9_./:-]{0,20}") {
        let text = format!("A={}\nB=\"x${{A}}y\"\nC=$A:z\nD='$A'\nE=\"\\$A\"\n", quote(&v));
        let map = parse(&text).unwrap().active_map();
        prop_assert_eq!(&map["B"], &format!("x{v}y"));
        prop_assert_eq!(&map["C"], &format!("{v}:z"));
        prop_assert_eq!(&map["D"], "$A");
        prop_assert_eq!(&map["E"], "$A");
    }

    #[test]
    fn modifiers_are_kept_in_order(n in 1u32..500, charset in "[a-z]{1,8}") {
        let f = parse(&format!("SECRET_X_VERSION=v1 # length={n} charset={charset} note\n")).unwrap();
        let e = &f.entries[0];
        let length = n.to_string();
        prop_assert_eq!(e.modifier("length"), Some(length.as_str()));
        prop_assert_eq!(e.modifiers.len(), 2);
        prop_assert_eq!(&e.modifiers[1], &("charset".to_string(), charset));
    }
}

#[test]
fn commented_assignments_expand_against_active_keys_above() {
    let f = parse("COMPOSE_FILE=compose.yml\n#COMPOSE_FILE=\"$COMPOSE_FILE:b.yml\"\n# prose = no\n").unwrap();
    let commented: Vec<_> = f.entries.iter().filter(|e| e.commented).collect();
    assert_eq!(commented.len(), 1);
    assert_eq!(commented[0].value, "compose.yml:b.yml");
    assert_eq!(commented[0].line, 2);
    assert_eq!(f.active_map(), BTreeMap::from([("COMPOSE_FILE".to_string(), "compose.yml".to_string())]));
}
