//! Guildhall wire protocol, version 1.
//!
//! Every type that crosses the WebSocket lives here, named by direction: [`ClientFrame`] and
//! [`ClientOp`] come from clients; [`Reply`], [`Push`] and the payload structs go to them.
//! Both codecs (JSON text frames, MessagePack binary frames with named fields) encode and decode
//! in [`codec`], so a type can never be spelled differently in the two. `README.md` beside this
//! crate is the normative spec; its golden examples are checked by this crate's tests.

pub mod close;
pub mod codec;
pub mod envelope;
pub mod error;
pub mod guild;
pub mod moderation;
pub mod ops;
pub mod stream;
pub mod war;

pub use codec::{Codec, DecodeError};
pub use envelope::{ClientFrame, Push, Reply};
pub use error::{ErrorBody, ErrorCode};
pub use guild::*;
pub use moderation::*;
pub use ops::*;
pub use stream::*;
pub use war::*;

/// The protocol version a client names in `hello.v`.
pub const PROTOCOL_VERSION: u32 = 1;
