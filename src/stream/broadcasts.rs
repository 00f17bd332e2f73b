//! Broadcasts: a multi-board event (a chess tournament round) whose boards are streams, with
//! the spectators of its live boards and the most it had at once.

use guildhall_protocol::{BroadcastInfo, BroadcastOpen, ErrorBody, ErrorCode};

use super::StreamService;
use crate::auth::User;
use crate::clock::now_ms;
use crate::guild::errors::db_error;
use crate::store::stream as rows;
use crate::store::to_i64;

const MAX_TITLE: usize = 100;
const MAX_DESCRIPTION: usize = 500;

fn no_broadcast() -> ErrorBody {
    ErrorBody::new(ErrorCode::NotFound, "no such broadcast")
}

impl StreamService {
    pub async fn open_broadcast(
        &self,
        user: &User,
        req: BroadcastOpen,
    ) -> Result<BroadcastInfo, ErrorBody> {
        let title = req.title.chars().count();
        if title == 0 || title > MAX_TITLE || req.description.chars().count() > MAX_DESCRIPTION {
            return Err(ErrorBody::new(
                ErrorCode::Invalid,
                format!(
                    "a broadcast's title is 1 to {MAX_TITLE} characters, its description at most {MAX_DESCRIPTION}"
                ),
            ));
        }
        let id = {
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            rows::insert_broadcast(
                &mut conn,
                &user.id,
                &req.title,
                &req.description,
                to_i64(now_ms()),
            )
            .await
            .map_err(db_error)?
        };
        self.broadcast(crate::store::to_u64(id)).await
    }

    pub async fn broadcast(&self, id: u64) -> Result<BroadcastInfo, ErrorBody> {
        let id = to_i64(id);
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let row = rows::broadcast(&mut conn, id)
            .await
            .map_err(db_error)?
            .ok_or_else(no_broadcast)?;
        let boards = rows::boards(&mut conn, id).await.map_err(db_error)?;
        let viewers = rows::broadcast_viewers(&mut conn, id)
            .await
            .map_err(db_error)?;
        Ok(super::views::broadcast(&row, &boards, viewers))
    }

    pub async fn end_broadcast(&self, user: &User, id: u64) -> Result<BroadcastInfo, ErrorBody> {
        {
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            let row = rows::broadcast(&mut conn, to_i64(id))
                .await
                .map_err(db_error)?
                .ok_or_else(no_broadcast)?;
            if row.owner != *user.id {
                return Err(ErrorBody::new(
                    ErrorCode::Forbidden,
                    "only the broadcast's owner ends it",
                ));
            }
            if !rows::end_broadcast(&mut conn, to_i64(id), to_i64(now_ms()))
                .await
                .map_err(db_error)?
            {
                return Err(ErrorBody::new(
                    ErrorCode::Conflict,
                    "this broadcast has ended",
                ));
            }
        }
        self.broadcast(id).await
    }
}
