//! The payload of every benchmark message: the intended send time (µs since the Unix epoch)
//! first, so a receiver reads its latency without parsing the frame, then padding to size.

use std::time::{SystemTime, UNIX_EPOCH};

use memchr::memmem;

/// Microseconds since the Unix epoch: the clock every process on the machine shares.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// `"<stamp>:<seq>:xxxx…"`, exactly `size` bytes long (or longer when the numbers need it).
pub fn stamped(stamp_us: u64, seq: u64, size: usize) -> String {
    let mut text = format!("{stamp_us}:{seq}:");
    while text.len() < size {
        text.push('x');
    }
    text
}

/// The unsigned integer the text starts with, and how many digits it took; None when it does
/// not start with a digit or the number does not fit a u64.
fn leading_u64(text: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    let mut digits = 0;
    for &b in text {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        digits += 1;
    }
    (digits > 0).then_some((value, digits))
}

/// The stamp at the start of a text (digits up to the first `:`).
pub fn stamp_of(text: &[u8]) -> Option<u64> {
    let (value, digits) = leading_u64(text)?;
    (text.get(digits) == Some(&b':')).then_some(value)
}

/// The stamp of a Guildhall `chat.msg` push in JSON, found without parsing the frame: the
/// text follows `"text":"`.
pub fn stamp_in_json_push(frame: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"text\":\"";
    let at = memmem::find(frame, KEY)?;
    stamp_of(&frame[at + KEY.len()..])
}

/// The unsigned integer right after the first `key` in a frame (e.g. `"off":`), found without
/// parsing the frame; None when the key is missing or no digits follow.
pub fn number_after(frame: &[u8], key: &[u8]) -> Option<u64> {
    number_after_found(frame, &memmem::Finder::new(key))
}

/// [`number_after`] with the key's searcher built once, for frames read in a hot loop (a
/// searcher is otherwise built for every search).
pub fn number_after_found(frame: &[u8], key: &memmem::Finder<'_>) -> Option<u64> {
    let at = key.find(frame)? + key.needle().len();
    leading_u64(&frame[at..]).map(|(value, _)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_at_the_asked_size() {
        let t = stamped(1_763_900_000_123_456, 42, 100);
        assert_eq!(t.len(), 100);
        assert_eq!(stamp_of(t.as_bytes()), Some(1_763_900_000_123_456));
        assert_eq!(stamped(5, 1, 2), "5:1:");
    }

    #[test]
    fn stamps_are_found_in_pushes() {
        let push = br#"{"ev":"chat.msg","room":"chan:f","ep":"e","off":3,"d":{"id":9,"from":{"id":"p0","name":"p0"},"text":"1700:3:xxxx","ts":1}}"#;
        assert_eq!(stamp_in_json_push(push), Some(1700));
        assert_eq!(stamp_in_json_push(br#"{"ev":"room.presence"}"#), None);
        assert_eq!(stamp_of(b"12x:"), None);
        assert_eq!(stamp_of(b":"), None);
        assert_eq!(
            stamp_of(b"99999999999999999999999:"),
            None,
            "overflow is not a stamp"
        );
    }

    #[test]
    fn numbers_are_found_after_keys() {
        let push = br#"{"ev":"stream.event","room":"stream:7","ep":"e1","off":42,"d":{"d":{"lt_us":1700000000123456,"seq":3},"kind":"move","ts":1700000000123}}"#;
        assert_eq!(number_after(push, br#""off":"#), Some(42));
        assert_eq!(
            number_after(push, br#""lt_us":"#),
            Some(1_700_000_000_123_456)
        );
        assert_eq!(number_after(push, br#""viewers":"#), None);
        assert_eq!(number_after(br#"{"off":}"#, br#""off":"#), None);
        assert_eq!(number_after(br#"{"off":7"#, br#""off":"#), Some(7));
        assert_eq!(
            number_after(br#"{"off":99999999999999999999999}"#, br#""off":"#),
            None
        );
    }

    #[test]
    fn prebuilt_searchers_find_the_same_numbers() {
        let push = br#"{"ev":"stream.event","room":"stream:7","ep":"e1","off":42,"d":{"d":{"lt_us":1700000000123456,"seq":3},"kind":"move","ts":1700000000123}}"#;
        let frames: [&[u8]; 5] = [
            push,
            br#"{"off":}"#,
            br#"{"off":7"#,
            br#"{"off":99999999999999999999999}"#,
            br#"{"off":3,"off":4}"#,
        ];
        for key in [&br#""off":"#[..], br#""lt_us":"#, br#""viewers":"#] {
            let finder = memmem::Finder::new(key);
            for frame in frames {
                assert_eq!(
                    number_after_found(frame, &finder),
                    number_after(frame, key),
                    "{}",
                    String::from_utf8_lossy(frame)
                );
            }
        }
        let off = memmem::Finder::new(br#""off":"#);
        assert_eq!(number_after_found(push, &off), Some(42));
        assert_eq!(number_after_found(br#"{"off":3,"off":4}"#, &off), Some(3));
    }
}
