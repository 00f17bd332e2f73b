//! `GET /ws`: the WebSocket upgrade, with transport limits set before the first byte is read.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guildhall_protocol::Codec;
use serde::Deserialize;

use crate::services::Services;
use crate::session;

/// The transport refuses frames above this; between `limits.max_frame_bytes` and this the
/// server answers `too_long` and keeps the connection.
const TRANSPORT_MAX_FRAME: usize = 1024 * 1024;
/// Socket buffers start small: most connections are idle most of the time.
const READ_BUFFER: usize = 512;
const WRITE_BUFFER: usize = 8 * 1024;

#[derive(Debug, Deserialize)]
pub struct WsParams {
    codec: Option<String>,
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
    Query(params): Query<WsParams>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(services): State<Arc<Services>>,
) -> Response {
    if services.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining").into_response();
    }
    let codec = match params.codec.as_deref() {
        None => None,
        Some("json") => Some(Codec::Json),
        Some("msgpack") => Some(Codec::MsgPack),
        Some(_) => {
            return (StatusCode::BAD_REQUEST, "codec must be json or msgpack").into_response()
        }
    };
    let Some(ip_slot) = services.conns.admit_ip(peer.ip()) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from this address",
        )
            .into_response();
    };
    let tracker = services.sessions.clone();
    ws.max_frame_size(TRANSPORT_MAX_FRAME)
        .max_message_size(TRANSPORT_MAX_FRAME)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| {
            tracker.track_future(session::serve(socket, services, peer, codec, ip_slot))
        })
}
