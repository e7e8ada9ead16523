//! Property tests of the interpolator, in both dialects: `$$` escapes round-trip, text without
//! `$` is unchanged, defaults and nesting, quotes are not special, nothing comes from the process
//! environment, and no panic on arbitrary input.

use std::collections::BTreeMap;

use proptest::prelude::*;
use recipe::interpolate::{substitute, Dialect, InterpolateError};

const DIALECTS: [Dialect; 2] = [Dialect::Full, Dialect::DockerStack];

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

proptest! {
    #[test]
    fn arbitrary_templates_never_panic(t in any::<String>(), t2 in "[${}:?+\\-A-Za-z_ ]{0,40}") {
        for d in DIALECTS {
            let _ = substitute(&t, &env(&[("A", "a")]), d);
            let _ = substitute(&t2, &env(&[("A", "a"), ("E", "")]), d);
        }
    }

    #[test]
    fn escaped_dollars_round_trip(s in any::<String>()) {
        let escaped = s.replace('$', "$$");
        for d in DIALECTS {
            prop_assert_eq!(substitute(&escaped, &BTreeMap::new(), d).unwrap(), s.clone());
        }
    }

    #[test]
    fn quotes_are_plain_text(v in "[a-z0-9]{0,10}") {
        for d in DIALECTS {
            prop_assert_eq!(substitute("'$A' \"${A}\"", &env(&[("A", &v)]), d).unwrap(), format!("'{v}' \"{v}\""));
        }
    }

    #[test]
    fn defaults_apply_when_unset_or_empty(v in "[a-z0-9]{1,10}", d in "[a-z0-9 ./-]{0,10}") {
        for dialect in DIALECTS {
            let set = env(&[("V", &v), ("E", "")]);
            prop_assert_eq!(substitute(&format!("${{V:-{d}}}"), &set, dialect).unwrap(), v.clone());
            prop_assert_eq!(substitute(&format!("${{U:-{d}}}"), &set, dialect).unwrap(), d.clone());
            prop_assert_eq!(substitute(&format!("${{E:-{d}}}"), &set, dialect).unwrap(), d.clone());
        }
        let set = env(&[("V", &v), ("E", "")]);
        prop_assert_eq!(substitute(&format!("${{E-{d}}}"), &set, Dialect::Full).unwrap(), "");
    }

    #[test]
    fn nested_defaults_in_the_full_grammar(v in "[a-z0-9]{1,10}") {
        let set = env(&[("B", &v)]);
        prop_assert_eq!(substitute("${A:-${B:-x}}", &set, Dialect::Full).unwrap(), v.clone());
        prop_assert_eq!(substitute("${A:-${C:-${B}}}!", &set, Dialect::Full).unwrap(), format!("{v}!"));
        prop_assert_eq!(substitute("${B:+[${B}]}", &set, Dialect::Full).unwrap(), format!("[{v}]"));
    }
}

#[test]
fn required_errors_name_variable_and_message() {
    for d in DIALECTS {
        let err = substitute("${DB_PASS:?run abra app secret generate}", &BTreeMap::new(), d).unwrap_err();
        assert_eq!(
            err,
            InterpolateError::Required { var: "DB_PASS".into(), message: "run abra app secret generate".into() }
        );
        assert!(err.to_string().contains("DB_PASS") && err.to_string().contains("run abra app secret generate"));
    }
}

#[test]
fn process_environment_never_leaks() {
    std::env::set_var("CCCI_LEAK_PROBE", "leaked");
    for d in DIALECTS {
        assert_eq!(substitute("[$CCCI_LEAK_PROBE${CCCI_LEAK_PROBE}]", &BTreeMap::new(), d).unwrap(), "[]");
    }
}
