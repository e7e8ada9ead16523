//! Fuzz the compose loader: any file content loads or errors, never panics.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    thread_local! {
        static DIR: tempfile::TempDir = tempfile::tempdir().expect("scratch dir");
    }
    DIR.with(|dir| {
        std::fs::write(dir.path().join("compose.yml"), data).expect("write");
        let env: BTreeMap<String, String> = [("STACK_NAME", "s"), ("DOMAIN", "d.example.com")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let _ = recipe::compose::load(dir.path(), &["compose.yml".to_string()], &env);
    });
});
