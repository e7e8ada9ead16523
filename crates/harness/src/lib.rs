//! One test run: app instance, tiers, checks, redaction and results.
