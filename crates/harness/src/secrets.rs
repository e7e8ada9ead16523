//! Making secret values: random passwords from a charset, or word passphrases from the EFF long
//! wordlist, with the operating system's cryptographic random source.

use rand::seq::IndexedRandom;
use recipe::secrets::Generator;

/// Separator between passphrase words.
const WORD_SEPARATOR: &str = "-";

/// A fresh value for `generator`, or `None` when the value must be inserted from configuration.
pub fn generate(generator: &Generator) -> Option<String> {
    let mut rng = rand::rng();
    match generator {
        Generator::Password { length, charset } => {
            let alphabet = charset.alphabet();
            Some((0..*length).map(|_| *alphabet.choose(&mut rng).unwrap_or(&b'x') as char).collect())
        }
        Generator::Passphrase { words } => {
            // A few list words contain the separator (`t-shirt`); leave them out.
            let list: Vec<&str> =
                eff_wordlist::large::LIST.iter().map(|(_, w)| *w).filter(|w| !w.contains(WORD_SEPARATOR)).collect();
            let chosen: Vec<&str> = (0..*words).filter_map(|_| list.choose(&mut rng).copied()).collect();
            Some(chosen.join(WORD_SEPARATOR))
        }
        Generator::Insert => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recipe::secrets::Charset;

    #[test]
    fn passwords_have_the_length_and_charset_asked_for() {
        let v = generate(&Generator::Password { length: 40, charset: Charset::Hex }).unwrap();
        assert_eq!(v.len(), 40);
        assert!(v.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{v}");
        let a = generate(&Generator::Password { length: 40, charset: Charset::Alphanumeric }).unwrap();
        assert_ne!(a, generate(&Generator::Password { length: 40, charset: Charset::Alphanumeric }).unwrap());
    }

    #[test]
    fn passphrases_are_words_joined_by_dashes() {
        let v = generate(&Generator::Passphrase { words: 4 }).unwrap();
        assert_eq!(v.split('-').count(), 4, "{v}");
        assert!(generate(&Generator::Insert).is_none());
    }
}
