//! The dashboard, JSON API, badges, metrics and health endpoint (SPEC V6).
