//! The one error type of the recipe engine: what went wrong, in which file and line, and how to fix it.

use std::fmt;
use std::path::PathBuf;

/// Where an error was found: a file and, when known, a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.file.display(), line),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// An error reading or interpreting a recipe. Displays as one line: `file[:line]: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeError {
    pub location: Option<Location>,
    pub message: String,
}

impl RecipeError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { location: None, message: message.into() }
    }

    pub fn at(file: impl Into<PathBuf>, line: Option<usize>, message: impl Into<String>) -> Self {
        Self { location: Some(Location { file: file.into(), line }), message: message.into() }
    }

    /// Attach a file (and line) to an error that has none yet.
    pub fn in_file(mut self, file: impl Into<PathBuf>, line: Option<usize>) -> Self {
        if self.location.is_none() {
            self.location = Some(Location { file: file.into(), line });
        }
        self
    }
}

impl fmt::Display for RecipeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for RecipeError {}

pub type Result<T> = std::result::Result<T, RecipeError>;
