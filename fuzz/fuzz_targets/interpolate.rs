//! Fuzz both interpolation dialects: any template interpolates or errors, never panics, and
//! `$$`-escaped text always comes back unchanged.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use recipe::interpolate::{substitute, Dialect};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let env: BTreeMap<String, String> =
        [("A", "a"), ("E", ""), ("B", "${A}")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    for dialect in [Dialect::Full, Dialect::DockerStack] {
        let _ = substitute(text, &env, dialect);
        let escaped = text.replace('$', "$$");
        assert_eq!(substitute(&escaped, &env, dialect).unwrap(), text);
    }
});
