//! The envelope: a client frame, a reply to it, and a push the server sends on its own.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::codec::{Codec, DecodeError};
use crate::error::ErrorBody;

/// A frame from a client: `{"id": 7, "op": "chat.send", "idem": "k1", "d": {...}}`.
///
/// The payload stays an untyped value until [`crate::ClientOp::parse`] picks its type by `op`, so
/// that a frame with a good envelope and a bad payload can still be answered under its `id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idem: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub d: serde_json::Value,
}

impl ClientFrame {
    pub fn decode(codec: Codec, frame: &[u8]) -> Result<Self, DecodeError> {
        codec.decode(frame)
    }
}

/// The answer to one client frame, carrying its `id`: either `ok: true` with `d`, or
/// `ok: false` with `err`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply<T> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub ok: bool,
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub d: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err: Option<ErrorBody>,
}

fn none<T>() -> Option<T> {
    None
}

impl<T> Reply<T> {
    pub fn ok(id: Option<u64>, d: T) -> Self {
        Self {
            id,
            ok: true,
            d: Some(d),
            err: None,
        }
    }

    pub fn err(id: Option<u64>, err: ErrorBody) -> Self {
        Self {
            id,
            ok: false,
            d: None,
            err: Some(err),
        }
    }
}

/// An event the server sends without being asked. Events of a room's log carry the room's epoch
/// `ep` and the event's offset `off`; others (presence) carry only the room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Push<'a, T> {
    pub ev: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ep: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off: Option<u64>,
    pub d: T,
}
