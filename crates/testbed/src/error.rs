//! The testbed's error type: what failed, with enough context to fix it.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown fixture {name:?}; known fixtures: {known}")]
    UnknownFixture { name: String, known: String },
    #[error("fixture {fixture}: {message}")]
    Fixture { fixture: String, message: String },
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}
