//! What travels through Redis: the payload of a log event (kept in the stream and published)
//! and the two kinds of pub/sub message on a room's channel.
//!
//! `E\n<ep>\n<off>\n<payload>`: a log event, as the publish script emits it.
//! `P\n<node>\n<payload>`: a presence change on another node.
//! Payloads are MessagePack with named fields.

use serde::{Deserialize, Serialize};

use crate::broker::PresenceDelta;

#[derive(Debug, Serialize, Deserialize)]
pub struct EventPayload {
    pub ev: String,
    pub d: serde_json::Value,
    pub ts: u64,
}

#[derive(Debug)]
pub enum ChannelMessage<'a> {
    Event {
        ep: &'a str,
        off: u64,
        payload: &'a [u8],
    },
    Presence {
        node: &'a str,
        payload: &'a [u8],
    },
}

fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = bytes.iter().position(|&b| b == b'\n')?;
    Some((&bytes[..i], &bytes[i + 1..]))
}

pub fn parse(bytes: &[u8]) -> Option<ChannelMessage<'_>> {
    let (kind, rest) = split_line(bytes)?;
    match kind {
        b"E" => {
            let (ep, rest) = split_line(rest)?;
            let (off, payload) = split_line(rest)?;
            let ep = std::str::from_utf8(ep).ok()?;
            let off = std::str::from_utf8(off).ok()?.parse().ok()?;
            Some(ChannelMessage::Event { ep, off, payload })
        }
        b"P" => {
            let (node, payload) = split_line(rest)?;
            Some(ChannelMessage::Presence {
                node: std::str::from_utf8(node).ok()?,
                payload,
            })
        }
        _ => None,
    }
}

pub fn presence_message(
    node: &str,
    delta: &PresenceDelta,
) -> Result<Vec<u8>, rmp_serde::encode::Error> {
    let mut out = format!("P\n{node}\n").into_bytes();
    out.extend(rmp_serde::to_vec_named(delta)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_kinds() {
        match parse(b"E\nab12\n42\n\x81\xa1x\x01") {
            Some(ChannelMessage::Event { ep, off, payload }) => {
                assert_eq!((ep, off, payload), ("ab12", 42, &b"\x81\xa1x\x01"[..]));
            }
            other => panic!("{other:?}"),
        }
        let msg = presence_message("n1", &PresenceDelta::default()).expect("encode");
        assert!(matches!(
            parse(&msg),
            Some(ChannelMessage::Presence { node: "n1", .. })
        ));
        assert!(parse(b"E\nab\nnotanumber\nx").is_none());
        assert!(parse(b"X\n").is_none());
        assert!(parse(b"").is_none());
    }
}
