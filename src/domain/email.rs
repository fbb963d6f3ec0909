//! Email addresses as Roster accepts them: trimmed, lower-cased for comparison, at most 254
//! characters, exactly one `@`, no spaces or control characters.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

/// Why an address was refused, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("enter an email address")]
    Empty,
    #[error("is longer than 254 characters")]
    TooLong,
    #[error("has no @ sign")]
    NoAt,
    #[error("has more than one @ sign")]
    SeveralAt,
    #[error("has nothing before the @ sign")]
    NoLocalPart,
    #[error("has no domain after the @ sign")]
    NoDomain,
    #[error("has a domain without a dot (like example.com)")]
    DomainWithoutDot,
    #[error("contains a space")]
    Space,
    #[error("contains a control character")]
    Control,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.chars().count() > 254 {
            return Err(EmailError::TooLong);
        }
        if s.chars().any(char::is_whitespace) {
            return Err(EmailError::Space);
        }
        if s.chars().any(char::is_control) {
            return Err(EmailError::Control);
        }
        let mut parts = s.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(_), None, _) => return Err(EmailError::NoAt),
            (Some(l), Some(d), None) => (l, d),
            _ => return Err(EmailError::SeveralAt),
        };
        if local.is_empty() {
            return Err(EmailError::NoLocalPart);
        }
        if domain.is_empty() {
            return Err(EmailError::NoDomain);
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(EmailError::DomainWithoutDot);
        }
        Ok(Email(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits what a person typed into the invite box: commas, semicolons, spaces or new lines.
pub fn split_addresses(input: &str) -> Vec<&str> {
    input.split(|c: char| c == ',' || c == ';' || c.is_whitespace()).map(str::trim).filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        assert_eq!(Email::parse("  Ana@Example.COM ").map(Email::into_string), Ok("ana@example.com".into()));
    }

    #[test]
    fn refuses_with_reasons() {
        assert_eq!(Email::parse(""), Err(EmailError::Empty));
        assert_eq!(Email::parse("ana.example.com"), Err(EmailError::NoAt));
        assert_eq!(Email::parse("a@b@c.com"), Err(EmailError::SeveralAt));
        assert_eq!(Email::parse("@example.com"), Err(EmailError::NoLocalPart));
        assert_eq!(Email::parse("ana@"), Err(EmailError::NoDomain));
        assert_eq!(Email::parse("ana@localhost"), Err(EmailError::DomainWithoutDot));
        assert_eq!(Email::parse("an a@example.com"), Err(EmailError::Space));
        assert_eq!(Email::parse("ana\u{7}@example.com"), Err(EmailError::Control));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn splits_batches() {
        assert_eq!(
            split_addresses("a@x.io, b@x.io\nc@x.io  d@x.io;e@x.io"),
            vec!["a@x.io", "b@x.io", "c@x.io", "d@x.io", "e@x.io"]
        );
    }
}
