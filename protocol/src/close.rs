//! WebSocket close codes the server sends, and whether a client should reconnect after each.

/// Normal closure: the client asked to leave, or the connection sat idle past the heartbeat.
pub const NORMAL: u16 = 1000;
/// The node is draining (shutdown or deploy): reconnect, to another node if there is one, and resume.
pub const DRAINING: u16 = 1001;
/// A frame larger than the transport limit (1 MiB); the connection cannot be resynchronised.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// No valid `hello` (missing, expired or badly signed token, or none within 10 s). Get a new token first.
pub const UNAUTHORIZED: u16 = 4001;
/// The user may not hold this connection (banned, or over the per-user connection cap).
pub const FORBIDDEN: u16 = 4003;
/// The client did not read fast enough and its outbound queue overflowed. Reconnect and resume.
pub const SLOW_CONSUMER: u16 = 4008;
/// Repeated rate-limit violations. Back off before reconnecting.
pub const ABUSE: u16 = 4009;
/// Repeated malformed frames or an unsupported protocol version. Fix the client.
pub const PROTOCOL: u16 = 4010;

/// Whether a client should reconnect (with `resume`) after a close with this code.
pub fn should_reconnect(code: u16) -> bool {
    matches!(code, NORMAL | DRAINING | SLOW_CONSUMER | ABUSE)
}
