//! Finding the line of a YAML key path (`services` → `app` → `image`) in a raw compose file, so
//! findings point at `file:line`. The parsed YAML has no positions; recipes are written in block
//! style, so an indentation-aware scan of the text finds keys reliably. Flow-style documents
//! (`{a: 1}`) fall back to the deepest key that was found.

/// Indentation and content of a line, or `None` for blank and comment lines.
fn content(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    Some((line.len() - trimmed.len(), trimmed))
}

/// Whether the line content starts the mapping key `key` (`key:`, `"key":`, `'key':`).
fn is_key(content: &str, key: &str) -> bool {
    [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")].iter().any(|k| content.starts_with(k.as_str()))
}

/// The 1-based line of the deepest key of `path` that exists, and how many keys were matched.
fn descend(text: &str, path: &[&str]) -> (Option<usize>, usize, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let mut found_line = None;
    let mut matched = 0;
    let mut start = 0;
    // The indentation of the parent key; children are deeper.
    let mut parent_indent: Option<usize> = None;
    'keys: for key in path {
        let mut child_indent: Option<usize> = None;
        for (i, line) in lines.iter().enumerate().skip(start) {
            let Some((indent, body)) = content(line) else {
                continue;
            };
            if parent_indent.is_some_and(|p| indent <= p) {
                break 'keys;
            }
            // Only keys at the first child level count (not grandchildren of another key).
            let level = *child_indent.get_or_insert(indent);
            if indent != level {
                continue;
            }
            if is_key(body, key) {
                found_line = Some(i + 1);
                matched += 1;
                start = i + 1;
                parent_indent = Some(indent);
                continue 'keys;
            }
        }
        break;
    }
    (found_line, matched, start)
}

/// The line of `path`, or of its deepest existing ancestor; `None` if not even the first key exists.
pub fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    descend(text, path).0
}

/// The line of `path` only if the whole path was found.
pub fn exact_line_of(text: &str, path: &[&str]) -> Option<usize> {
    let (line, matched, _) = descend(text, path);
    (matched == path.len()).then_some(line).flatten()
}

/// The first line inside the block of `path` (or anywhere, for an empty path) containing `needle`;
/// falls back to the block's own line.
pub fn line_in_block(text: &str, path: &[&str], needle: &str) -> Option<usize> {
    let (line, matched, start) = descend(text, path);
    if matched < path.len() {
        return line;
    }
    let block_indent = line.and_then(|l| text.lines().nth(l - 1)).and_then(content).map(|(i, _)| i);
    for (i, l) in text.lines().enumerate().skip(start) {
        if let (Some((indent, _)), Some(parent)) = (content(l), block_indent) {
            if indent <= parent {
                break;
            }
        }
        if l.contains(needle) && !l.trim_start().starts_with('#') {
            return Some(i + 1);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "version: \"3.8\"\nservices:\n  app:\n    image: foo\n    deploy:\n      labels:\n        # - \"traefik.enable=false\"\n        - \"traefik.enable=true\"\n  db:\n    environment:\n      - image=not-this\n    image: bar\nvolumes:\n  data:\n";

    #[test]
    fn finds_nested_keys_at_the_right_level() {
        assert_eq!(line_of(DOC, &["version"]), Some(1));
        assert_eq!(line_of(DOC, &["services", "app", "image"]), Some(4));
        assert_eq!(line_of(DOC, &["services", "db", "image"]), Some(12));
        assert_eq!(line_of(DOC, &["volumes", "data"]), Some(14));
    }

    #[test]
    fn missing_keys_fall_back_to_the_ancestor() {
        assert_eq!(line_of(DOC, &["services", "app", "healthcheck"]), Some(3));
        assert_eq!(exact_line_of(DOC, &["services", "app", "healthcheck"]), None);
        assert_eq!(line_of(DOC, &["secrets"]), None);
    }

    #[test]
    fn needles_skip_comments_and_stay_in_the_block() {
        assert_eq!(line_in_block(DOC, &["services", "app"], "traefik.enable"), Some(8));
        assert_eq!(line_in_block(DOC, &["services", "app"], "bar"), Some(3));
    }
}
