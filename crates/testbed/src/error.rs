//! The testbed's error type: what failed, with enough context to fix it.

use std::fmt;
use std::io;

#[derive(Debug)]
pub enum Error {
    UnknownFixture { name: String, known: String },
    Fixture { fixture: String, message: String },
    Command { command: String, detail: String },
    Io { context: String, source: io::Error },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownFixture { name, known } => {
                write!(f, "unknown fixture {name:?}; known fixtures: {known}")
            }
            Error::Fixture { fixture, message } => write!(f, "fixture {fixture}: {message}"),
            Error::Command { command, detail } => write!(f, "`{command}` failed: {detail}"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}
