//! Workspace slugs: the `{ws}` in `/w/{ws}/…`, made from the workspace name.

/// "Acme Bots!" → "acme-bots". Never empty: falls back to "workspace".
pub fn from_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 48 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { "workspace".to_owned() } else { out }
}

/// Whether a path segment can be a slug at all (lets bad URLs 404 without a query).
pub fn looks_valid(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(from_name("Acme Bots"), "acme-bots");
        assert_eq!(from_name("  Ñoño & Co. "), "o-o-co");
        assert_eq!(from_name("!!!"), "workspace");
        assert!(looks_valid("acme-bots"));
        assert!(!looks_valid("Acme"));
    }
}
