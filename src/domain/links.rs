//! Link detection for chat messages.
//!
//! Chat refuses anything a client would turn into something clickable,
//! because links are the main phishing vector in game chat (fake "free
//! nitro" pages, stolen-login pages). Besides plain URLs this catches the
//! usual dodges: spaces around the dot (`discord . gg`), spelled or bracketed
//! dots (`example dot com`, `example(dot)com`, `example[.]com`), fullwidth
//! and ideographic dots, invisible characters and IPv4 addresses.
//!
//! Ordinary prose must keep working, so a dot only counts as part of a domain
//! when the label after it is a known top-level domain and the label before
//! it has at least two characters. A period followed by a space (the end of a
//! sentence) and the word "dot" are only treated as domain dots in front of
//! TLDs that are not also everyday words or chat slang: "nice game. gg" and
//! "click the dot to open" stay allowed.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// TLDs that are not English words or chat slang, so any kind of dot in
/// front of them is taken as a domain dot.
const DISTINCT_TLDS: &[&str] = &[
    "com", "net", "org", "io", "ru", "xyz", "biz", "uk", "cn", "tk", "ml", "ga", "cf", "gq", "edu",
    "gov", "jp", "kr", "nl", "pl", "nz", "za", "mx", "ua", "kz", "cz", "ro", "hu", "icu", "xxx",
    "cyou", "cfd", "sbs", "ws",
];

/// TLDs that are also words or slang ("gg", "me", "top", "live"). Only an
/// unmistakable dot joins them: no space at all, a space before the dot, or
/// a bracketed dot.
const WORDLIKE_TLDS: &[&str] = &[
    "gg", "co", "me", "tv", "ly", "app", "dev", "info", "link", "site", "online", "shop", "top",
    "us", "de", "fr", "eu", "pw", "cc", "su", "to", "sh", "nu", "click", "live", "store", "fun",
    "space", "win", "bid", "pro", "club", "vip", "tech", "gift", "ai", "ca", "br", "fm",
];

/// True when the text contains something a chat client would open as a link.
pub fn contains_link(text: &str) -> bool {
    let folded = fold(text);
    has_scheme(&folded) || {
        let lexemes = lex(&folded);
        has_domain(&lexemes) || has_ipv4(&lexemes)
    }
}

/// Lowercases, strips accents and invisible characters, and turns the dot
/// look-alikes that browsers also accept into `.`.
fn fold(text: &str) -> Vec<char> {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c) && !is_invisible(*c))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            // Ideographic full stops are accepted as label separators by
            // browsers (IDNA), so they are real dots here.
            '\u{3002}' | '\u{FF61}' => '.',
            c => c,
        })
        .collect()
}

/// Characters that render as nothing; used to split a word invisibly.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

/// Any `scheme://`, whatever the scheme (`http`, `steam`, `hxxp`, ...).
fn has_scheme(chars: &[char]) -> bool {
    chars
        .windows(4)
        .any(|w| w[0].is_ascii_alphanumeric() && w[1..] == [':', '/', '/'])
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// A run of `[a-z0-9-]`, the characters of a domain label.
    Label(String),
    /// A single `.`.
    Dot,
    /// `(dot)`, `[.]` and friends: nobody writes those except to dodge a filter.
    BracketedDot,
    /// Anything else, including `...`.
    Other,
}

#[derive(Clone, Debug)]
struct Lexeme {
    kind: Kind,
    /// Whitespace came between this lexeme and the previous one.
    space_before: bool,
}

/// How two labels are joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Joint {
    /// `a.b`
    Tight,
    /// `a . b` or `a .b`: prose never puts a space before a period.
    SpacedDot,
    /// `a. b`: what a sentence end looks like.
    SentenceEnd,
    /// `a(dot)b`, `a [.] b`
    Bracketed,
    /// `a dot b`
    Spelled,
}

fn lex(chars: &[char]) -> Vec<Lexeme> {
    let mut out = Vec::new();
    let mut space_before = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let (kind, next) = if c.is_whitespace() {
            space_before = true;
            i += 1;
            continue;
        } else if is_label_char(c) {
            let end = scan_while(chars, i, is_label_char);
            (Kind::Label(chars[i..end].iter().collect()), end)
        } else if c == '.' {
            let end = scan_while(chars, i, |c| c == '.');
            // An ellipsis is punctuation, never a domain dot (`lol...ok`).
            let kind = if end - i == 1 { Kind::Dot } else { Kind::Other };
            (kind, end)
        } else if let Some(end) = bracketed_dot(chars, i) {
            (Kind::BracketedDot, end)
        } else {
            (Kind::Other, i + 1)
        };
        out.push(Lexeme { kind, space_before });
        space_before = false;
        i = next;
    }
    out
}

fn is_label_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

fn scan_while(chars: &[char], start: usize, keep: impl Fn(char) -> bool) -> usize {
    start + chars[start..].iter().take_while(|c| keep(**c)).count()
}

/// If `chars[start]` opens `(dot)`, `[ . ]`, `{dot}` or `<.>`, the index
/// just past the closing bracket.
fn bracketed_dot(chars: &[char], start: usize) -> Option<usize> {
    let close = match chars[start] {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        '<' => '>',
        _ => return None,
    };
    let mut i = scan_while(chars, start + 1, char::is_whitespace);
    if chars.get(i) == Some(&'.') {
        i += 1;
    } else if chars.get(i..i + 3) == Some(&['d', 'o', 't'][..]) {
        i += 3;
    } else {
        return None;
    }
    i = scan_while(chars, i, char::is_whitespace);
    (chars.get(i) == Some(&close)).then_some(i + 1)
}

/// If the label at `at` is followed by a dot of some kind and another label,
/// how they are joined and where that label is.
fn joint_after(lexemes: &[Lexeme], at: usize) -> Option<(Joint, usize)> {
    let sep = lexemes.get(at + 1)?;
    let next = lexemes.get(at + 2)?;
    if !matches!(next.kind, Kind::Label(_)) {
        return None;
    }
    let joint = match &sep.kind {
        Kind::Dot => match (sep.space_before, next.space_before) {
            (false, false) => Joint::Tight,
            (true, _) => Joint::SpacedDot,
            (false, true) => Joint::SentenceEnd,
        },
        Kind::BracketedDot => Joint::Bracketed,
        Kind::Label(word) if word == "dot" && sep.space_before && next.space_before => {
            Joint::Spelled
        }
        _ => return None,
    };
    Some((joint, at + 2))
}

fn label(lexeme: &Lexeme) -> Option<&str> {
    match &lexeme.kind {
        Kind::Label(text) => Some(text),
        _ => None,
    }
}

/// `www.` anything, or `name.tld`.
fn has_domain(lexemes: &[Lexeme]) -> bool {
    (0..lexemes.len()).any(|at| {
        let Some(left) = label(&lexemes[at]) else {
            return false;
        };
        let Some((joint, right_at)) = joint_after(lexemes, at) else {
            return false;
        };
        let right = label(&lexemes[right_at]).unwrap_or_default();
        if left == "www" {
            return true;
        }
        // A one-letter left side is how "e.g." and "i.e." look; the rare real
        // one-letter domain is an accepted miss.
        left.len() >= 2
            && match joint {
                Joint::Tight | Joint::SpacedDot | Joint::Bracketed => {
                    DISTINCT_TLDS.contains(&right) || WORDLIKE_TLDS.contains(&right)
                }
                Joint::SentenceEnd | Joint::Spelled => DISTINCT_TLDS.contains(&right),
            }
    })
}

/// Exactly four numbers of at most 255 joined by dots (`1.2.3.4`,
/// `10 . 0 . 0 . 1`, `1[.]2[.]3[.]4`). Longer chains are version numbers or
/// the like, and a numbered list (`1. 2. 3. 4.`) is a sentence-end joint.
fn has_ipv4(lexemes: &[Lexeme]) -> bool {
    let mut at = 0;
    while at < lexemes.len() {
        if label(&lexemes[at]).is_none() {
            at += 1;
            continue;
        }
        let mut chain = vec![at];
        let mut last = at;
        while let Some((joint, next)) = joint_after(lexemes, last) {
            if joint == Joint::SentenceEnd {
                break;
            }
            chain.push(next);
            last = next;
        }
        if chain.len() == 4
            && chain
                .iter()
                .all(|&i| label(&lexemes[i]).is_some_and(is_octet))
        {
            return true;
        }
        at = last + 1;
    }
    false
}

fn is_octet(part: &str) -> bool {
    part.len() <= 3
        && part.bytes().all(|b| b.is_ascii_digit())
        && part.parse::<u16>().is_ok_and(|n| n <= 255)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_detected() {
        let cases = [
            "http://example.com",
            "see https://evil.test/login now",
            "ftp://files.host",
            "steam://run/730",
            "HTTPS://EXAMPLE.COM",
            "hxxp://sneaky",
            "www.example.net",
            "www.whatever",
            "WWW dot anything",
            "visit example.com now",
            "Visit Example.COM.",
            "discord.gg/abc",
            "sub.name.io/path",
            "bit.ly/xyz",
            "go to free-nitro.xyz",
            "steamcommunity.ru trade",
            "mail me@example.org",
            "my.site/x",
            "discord . gg / abc",
            "example .com",
            "example. com",
            "example(dot)com",
            "example (dot) com",
            "example[.]com",
            "example [ . ] gg",
            "example{dot}net",
            "example dot com",
            "example DOT org",
            "ＥＸＡＭＰＬＥ．ＣＯＭ",
            "example。com",
            "discord\u{200B}.gift",
            "dіscord.gg", // Cyrillic і
            "1.2.3.4",
            "connect 192.168.0.1:8080",
            "10 . 0 . 0 . 1",
            "1[.]2[.]3[.]4",
            "8 dot 8 dot 4 dot 4",
        ];
        for text in cases {
            assert!(contains_link(text), "should flag {text:?}");
        }
    }

    #[test]
    fn ordinary_text_is_not_a_link() {
        let cases = [
            "gg",
            "gg wp",
            "nice game. gg",
            "good game. gg wp, gl hf",
            "e.g. this one",
            "i.e. that one",
            "pi is 3.14",
            "1.5k gold",
            "lol...ok",
            "wait... me too",
            "end.Then we go",
            "v1.2.3",
            "version 1.2.3.4.5",
            "256.1.1.1",
            "1.2.3",
            "rank 1. 2. 3. 4. done",
            "click the dot to open",
            "I'm at home. Me too",
            "the shop. Top deals today",
            "Mr. Smith",
            "U.S.A.",
            "see you at 5 p.m.",
            "wait . what",
            "time 10:30, ratio 1:2",
            "score 100/200",
            "hello world",
            "3.5 stars",
            "",
        ];
        for text in cases {
            assert!(!contains_link(text), "should not flag {text:?}");
        }
    }
}
