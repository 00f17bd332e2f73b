//! The stream and broadcast ops of a connection: each goes to the stream service. Cheering
//! takes being in the stream's room, which only the session knows.

use std::sync::Arc;

use guildhall_protocol::{Done, ErrorBody, ErrorCode, StreamOp};

use super::dispatch::ReplyBody;
use super::handle::SessionHandle;
use super::Connection;
use crate::store::to_i64;

impl Connection {
    pub(super) async fn stream_op(
        &self,
        session: &Arc<SessionHandle>,
        op: StreamOp,
    ) -> Result<ReplyBody, ErrorBody> {
        let s = &self.services.streams;
        let user = &session.user;
        match op {
            StreamOp::Open(req) => s.open(user, req).await.map(info),
            StreamOp::Publish(req) => s
                .publish(user, req.stream, &req.kind, req.d)
                .await
                .map(ReplyBody::StreamPublished),
            StreamOp::Annotate(req) => s.annotate(user, req).await.map(ReplyBody::StreamPublished),
            StreamOp::End(req) => s.end(user, req).await.map(info),
            StreamOp::Get(req) => s.get(user, req.stream).await.map(info),
            StreamOp::List(req) => s.list(user, req).await.map(ReplyBody::StreamPage),
            StreamOp::Cheer(req) => {
                let room = crate::stream::room_of(to_i64(req.stream));
                if !self.rooms.contains_key(room.as_str()) {
                    return Err(ErrorBody::new(
                        ErrorCode::NotMember,
                        "join the stream's room to cheer",
                    ));
                }
                s.cheer(user, req.stream, &req.emoji)
                    .map(|()| ReplyBody::Done(Done {}))
            }
            StreamOp::Replay(req) => s
                .replay(session, req.stream, req.speed)
                .await
                .map(ReplyBody::ReplayStarted),
            StreamOp::BroadcastOpen(req) => s
                .open_broadcast(user, req)
                .await
                .map(|b| ReplyBody::Broadcast(Box::new(b))),
            StreamOp::BroadcastGet(req) => s
                .broadcast(req.broadcast)
                .await
                .map(|b| ReplyBody::Broadcast(Box::new(b))),
            StreamOp::BroadcastEnd(req) => s
                .end_broadcast(user, req.broadcast)
                .await
                .map(|b| ReplyBody::Broadcast(Box::new(b))),
        }
    }
}

fn info(i: guildhall_protocol::StreamInfo) -> ReplyBody {
    ReplyBody::Stream(Box::new(i))
}
