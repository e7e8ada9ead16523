//! The secrets an app needs and how each is made, read as abra reads them: every external secret
//! of the rendered compose document, matched to its `SECRET_<NAME>_VERSION` env key, whose trailing
//! modifiers say how to generate the value (`length=N`, `charset=...`, `generate=false`).

use crate::env::EnvFile;
use crate::{RecipeError, Result};

/// Words in a generated passphrase when the env key has no `length` modifier.
pub const PASSPHRASE_WORDS: usize = 4;

/// The characters a generated password is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Charset {
    /// `A-Z a-z 0-9` (the default: safe in URLs, shells and config files).
    Alphanumeric,
    /// `0-9 a-f`.
    Hex,
    /// `0-9`.
    Numeric,
    /// Alphanumerics plus `!#%+,-.:=@^_~`.
    Special,
}

impl Charset {
    pub fn parse(name: &str) -> Option<Charset> {
        match name {
            "alphanumeric" | "alnum" => Some(Charset::Alphanumeric),
            "hex" => Some(Charset::Hex),
            "numeric" | "digits" => Some(Charset::Numeric),
            "special" | "symbols" => Some(Charset::Special),
            _ => None,
        }
    }

    pub fn alphabet(self) -> &'static [u8] {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        match self {
            Charset::Alphanumeric => ALNUM,
            Charset::Hex => b"0123456789abcdef",
            Charset::Numeric => b"0123456789",
            Charset::Special => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%+,-.:=@^_~",
        }
    }
}

/// How a secret's value comes to be.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Generator {
    Password {
        length: usize,
        charset: Charset,
    },
    Passphrase {
        words: usize,
    },
    /// `generate=false`: the value is inserted from per-recipe configuration.
    Insert,
}

/// One secret of an app.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecretSpec {
    /// The key in the compose file's `secrets:` section, e.g. `db_password`.
    pub key: String,
    /// The Docker secret name after interpolation, e.g. `app_example_com_db_password_v1`.
    pub name: String,
    /// The env key holding its version, e.g. `SECRET_DB_PASSWORD_VERSION`, if the env has one.
    pub version_key: Option<String>,
    pub version: Option<String>,
    pub generator: Generator,
}

/// The env key abra pairs with a compose secret key.
pub fn version_key(secret_key: &str) -> String {
    format!("SECRET_{}_VERSION", secret_key.to_ascii_uppercase())
}

/// Read a generator from an env entry's modifiers.
pub fn generator_from_modifiers(modifiers: &[(String, String)]) -> std::result::Result<Generator, String> {
    let get = |k: &str| modifiers.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    if get("generate") == Some("false") {
        return Ok(Generator::Insert);
    }
    let charset = match get("charset") {
        None => Charset::Alphanumeric,
        Some(name) => Charset::parse(name)
            .ok_or_else(|| format!("unknown charset={name:?}; use alphanumeric, hex, numeric or special"))?,
    };
    match get("length") {
        None => Ok(Generator::Passphrase { words: PASSPHRASE_WORDS }),
        Some(n) => match n.parse::<usize>() {
            Ok(length) if (1..=4096).contains(&length) => Ok(Generator::Password { length, charset }),
            _ => Err(format!("length={n:?} is not a whole number from 1 to 4096")),
        },
    }
}

/// Every external secret of `doc` with how to make it, matched to `env`'s version keys.
pub fn secret_specs(doc: &serde_norway::Value, env: &EnvFile, env_path: &std::path::Path) -> Result<Vec<SecretSpec>> {
    let Some(secrets) = doc.get("secrets").and_then(|s| s.as_mapping()) else {
        return Ok(Vec::new());
    };
    let mut specs = Vec::new();
    for (key, def) in secrets {
        let Some(key) = key.as_str() else { continue };
        if def.get("external").and_then(|e| e.as_bool()) != Some(true) {
            continue;
        }
        let name = def.get("name").and_then(|n| n.as_str()).unwrap_or(key).to_owned();
        let vkey = version_key(key);
        let entry = env.entries.iter().rev().find(|e| !e.commented && e.key == vkey);
        let generator = match entry {
            Some(e) => generator_from_modifiers(&e.modifiers)
                .map_err(|msg| RecipeError::at(env_path, Some(e.line), format!("{vkey}: {msg}")))?,
            None => Generator::Passphrase { words: PASSPHRASE_WORDS },
        };
        specs.push(SecretSpec {
            key: key.to_owned(),
            name,
            version_key: entry.map(|_| vkey),
            version: entry.map(|e| e.value.clone()),
            generator,
        });
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mods(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn modifiers_choose_the_generator() {
        assert_eq!(
            generator_from_modifiers(&mods(&[("length", "32")])),
            Ok(Generator::Password { length: 32, charset: Charset::Alphanumeric })
        );
        assert_eq!(
            generator_from_modifiers(&mods(&[("length", "8"), ("charset", "hex")])),
            Ok(Generator::Password { length: 8, charset: Charset::Hex })
        );
        assert_eq!(generator_from_modifiers(&[]), Ok(Generator::Passphrase { words: 4 }));
        assert_eq!(generator_from_modifiers(&mods(&[("generate", "false"), ("length", "9")])), Ok(Generator::Insert));
        assert!(generator_from_modifiers(&mods(&[("length", "lots")])).unwrap_err().contains("lots"));
        assert!(generator_from_modifiers(&mods(&[("charset", "emoji")])).unwrap_err().contains("emoji"));
    }
}
