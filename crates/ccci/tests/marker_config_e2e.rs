//! Per-recipe marker hooks (`marker.write`, `marker.check`, `marker.spoil` in the CI tree's
//! `recipes/<name>/ccci.toml`) replace the default file marker in the upgrade, backup and restore
//! tiers: a marker kept in the data the backup carries comes back after restore; one kept outside
//! it is reported missing after restore, naming the failed check.

mod support;

use std::path::Path;

use support::{ccci_test, leftovers, testbed, Step, TestRun};

const TIERS: &str = "install,upgrade,backup,restore";

/// `ccci.toml` for app-db whose marker lives in `dir` of the db service.
fn marker_config(dir: &str) -> String {
    format!(
        "[marker.write]\nservice = \"db\"\ncommand = \"mkdir -p {dir} && echo $CCCI_MARKER > {dir}/ccci-row\"\n\
         [marker.check]\nservice = \"db\"\ncommand = \"grep -qx $CCCI_MARKER {dir}/ccci-row\"\n\
         [marker.spoil]\nservice = \"db\"\ncommand = \"rm -f {dir}/ccci-row\"\n"
    )
}

fn run_with_marker_in(dir: &str) -> (tempfile::TempDir, TestRun) {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("app-db", &work.path().join("app-db")).unwrap();
    let config = work.path().join("ci-config");
    std::fs::create_dir_all(config.join("recipes/app-db")).unwrap();
    std::fs::write(config.join("recipes/app-db/ccci.toml"), marker_config(dir)).unwrap();
    let run = run(work.path(), &repo.path, &config);
    (work, run)
}

fn run(work: &Path, recipe: &Path, config: &Path) -> TestRun {
    let config = config.to_str().expect("a UTF-8 temporary path");
    ccci_test(work, recipe, &["--ref", "next", "--tiers", TIERS, "--config-dir", config])
}

#[test]
fn a_configured_marker_in_the_backed_up_data_survives_upgrade_and_restore() {
    let (_work, run) = run_with_marker_in("/var/lib/db/data");
    assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr());
    assert_eq!(run.result["level"], 4, "{}", run.result);
    let steps = run.steps();
    let written = |when: &str| {
        steps.iter().any(
            |s| matches!(s, Step::MarkerWritten { marker, before, .. } if marker == "marker.write" && before == when),
        )
    };
    let checked = |when: &str| {
        steps.iter().any(
            |s| matches!(s, Step::MarkerChecked { marker, after, .. } if marker == "marker.check" && after == when),
        )
    };
    assert!(written("upgrade") && written("backup"), "{steps:#?}");
    assert!(checked("upgrade") && checked("restore"), "{steps:#?}");
    assert!(
        steps.iter().any(|s| matches!(s, Step::MarkerSpoiled { marker } if marker == "marker.spoil")),
        "{steps:#?}"
    );
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new());
}

#[test]
fn a_configured_marker_outside_the_backup_is_missing_after_restore() {
    let (_work, run) = run_with_marker_in("/var/lib/db/outside-backup");
    assert_eq!(run.code(), Some(1), "stderr:\n{}", run.stderr());
    let restore = run.tier("restore");
    assert_eq!(restore["outcome"], "fail", "{restore}");
    let reason = restore["reason"].as_str().unwrap();
    assert!(reason.contains("marker missing after restore: marker.check failed"), "{reason}");
    assert_eq!(run.tier("upgrade")["outcome"], "pass");
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new());
}
