//! What a chat text must be to be accepted: not empty, not too long, no link, past the filter.

use super::filter::{FilterHit, FilterLevel, WordFilter};
use super::links::contains_link;

/// Longest chat text, in characters (RULES.md: 200).
pub const DEFAULT_MAX_CHARS: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextRefusal {
    Empty,
    /// NUL and other control characters (tab and newline aside): PostgreSQL refuses NUL, and
    /// the rest only serve to garble other clients' screens.
    ControlCharacter,
    TooLong {
        max: usize,
    },
    Link,
    Filtered(FilterHit),
}

/// Checks a chat text against the content rules, cheapest first.
pub fn check_text(
    text: &str,
    max_chars: usize,
    filter: &WordFilter,
    level: FilterLevel,
) -> Result<(), TextRefusal> {
    if text.trim().is_empty() {
        return Err(TextRefusal::Empty);
    }
    // Counting chars stops early: a 64 KiB frame of text costs no more than 201 steps here.
    if text.chars().nth(max_chars).is_some() {
        return Err(TextRefusal::TooLong { max: max_chars });
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(TextRefusal::ControlCharacter);
    }
    if contains_link(text) {
        return Err(TextRefusal::Link);
    }
    if let Some(hit) = filter.check(text, level) {
        return Err(TextRefusal::Filtered(hit));
    }
    Ok(())
}

/// A fingerprint of a text for spotting repeats: case and surrounding or doubled spaces do not
/// make a message new.
pub fn fingerprint(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for word in text.split_whitespace() {
        for c in word.chars().flat_map(char::to_lowercase) {
            c.hash(&mut hasher);
        }
        ' '.hash(&mut hasher);
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, level: FilterLevel) -> Result<(), TextRefusal> {
        check_text(text, DEFAULT_MAX_CHARS, &WordFilter::builtin(), level)
    }

    #[test]
    fn content_rules() {
        assert_eq!(check("gg wp", FilterLevel::Medium), Ok(()));
        assert_eq!(check("   ", FilterLevel::Medium), Err(TextRefusal::Empty));
        assert_eq!(check(&"a".repeat(200), FilterLevel::Medium), Ok(()));
        assert_eq!(
            check(&"a".repeat(201), FilterLevel::Medium),
            Err(TextRefusal::TooLong { max: 200 })
        );
        // Characters, not bytes: 200 multi-byte letters are fine.
        assert_eq!(check(&"é".repeat(200), FilterLevel::Medium), Ok(()));
        assert_eq!(
            check("free gems at https://evil.example", FilterLevel::Off),
            Err(TextRefusal::Link)
        );
        assert_eq!(
            check("join discord.gg/abc", FilterLevel::Off),
            Err(TextRefusal::Link)
        );
        assert_eq!(
            check("what the fuck", FilterLevel::Medium),
            Err(TextRefusal::Filtered(FilterHit::Profanity))
        );
        assert_eq!(check("what the fuck", FilterLevel::Off), Ok(()));
        assert_eq!(
            check("a\u{0}b", FilterLevel::Off),
            Err(TextRefusal::ControlCharacter)
        );
        assert_eq!(
            check("bell\u{7}", FilterLevel::Off),
            Err(TextRefusal::ControlCharacter)
        );
        assert_eq!(check("two\nlines\tok", FilterLevel::Off), Ok(()));
    }

    #[test]
    fn fingerprints_ignore_case_and_spacing() {
        assert_eq!(fingerprint("GG  wp"), fingerprint(" gg wp "));
        assert_ne!(fingerprint("gg wp"), fingerprint("ggwp"));
    }
}
