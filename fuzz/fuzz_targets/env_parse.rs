//! Fuzz the env-file parser: any text parses or errors, never panics; the active map survives
//! a render/parse round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(file) = recipe::env::parse(text) {
        let map = file.active_map();
        let again = recipe::env::parse(&recipe::env::render(&map)).expect("rendered env parses");
        assert_eq!(again.active_map(), map);
    }
});
