//! The two codecs. JSON travels in text frames, MessagePack (maps with named fields) in binary
//! frames; the server answers each frame in the codec it arrived in.

use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    Json,
    MsgPack,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid MessagePack: {0}")]
    MsgPack(#[from] rmp_serde::decode::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("JSON encoding failed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("MessagePack encoding failed: {0}")]
    MsgPack(#[from] rmp_serde::encode::Error),
}

impl Codec {
    pub fn encode<T: Serialize + ?Sized>(self, value: &T) -> Result<Bytes, EncodeError> {
        Ok(match self {
            Codec::Json => Bytes::from(serde_json::to_vec(value)?),
            Codec::MsgPack => Bytes::from(rmp_serde::to_vec_named(value)?),
        })
    }

    pub fn decode<T: DeserializeOwned>(self, frame: &[u8]) -> Result<T, DecodeError> {
        Ok(match self {
            Codec::Json => serde_json::from_slice(frame)?,
            Codec::MsgPack => rmp_serde::from_slice(frame)?,
        })
    }
}
