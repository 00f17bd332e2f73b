//! The guild and wallet ops of a connection: each goes straight to the guild service.

use guildhall_protocol::{Done, ErrorBody, GuildOp};

use super::dispatch::ReplyBody;
use super::Connection;
use crate::auth::User;

impl Connection {
    pub(super) async fn guild_op(
        &self,
        user: &User,
        op: GuildOp,
        idem: Option<&str>,
    ) -> Result<ReplyBody, ErrorBody> {
        let g = &self.services.guilds;
        let done = |r: Result<(), ErrorBody>| r.map(|()| ReplyBody::Done(Done {}));
        match op {
            GuildOp::Create(req) => g
                .create(user, req)
                .await
                .map(|i| ReplyBody::GuildInfo(Box::new(i))),
            GuildOp::Get(req) => g
                .get(req.guild)
                .await
                .map(|i| ReplyBody::GuildInfo(Box::new(i))),
            GuildOp::Edit(req) => g
                .edit(user, req)
                .await
                .map(|i| ReplyBody::GuildInfo(Box::new(i))),
            GuildOp::Search(req) => g.search(req).await.map(ReplyBody::GuildList),
            GuildOp::Join(req) => g
                .join(user, req.guild)
                .await
                .map(|i| ReplyBody::GuildInfo(Box::new(i))),
            GuildOp::Apply(req) => done(g.apply(user, req).await),
            GuildOp::Applications(req) => g
                .applications(user, req.guild)
                .await
                .map(ReplyBody::Applications),
            GuildOp::Review(req) => done(g.review(user, req).await),
            GuildOp::Invite(req) => done(g.invite(user, req).await),
            GuildOp::Invites(_) => g.invites(user).await.map(ReplyBody::Invites),
            GuildOp::Accept(req) => g
                .accept(user, req.guild)
                .await
                .map(|i| ReplyBody::GuildInfo(Box::new(i))),
            GuildOp::Decline(req) => done(g.decline(user, req.guild).await),
            GuildOp::Leave(req) => done(g.leave(user, req.guild).await),
            GuildOp::Kick(req) => done(g.kick(user, req).await),
            GuildOp::Promote(req) => g.promote(user, req).await.map(ReplyBody::RoleChanged),
            GuildOp::Demote(req) => g.demote(user, req).await.map(ReplyBody::RoleChanged),
            GuildOp::Transfer(req) => g.transfer(user, req).await.map(ReplyBody::Transfer),
            GuildOp::TransferCancel(req) => done(g.transfer_cancel(user, req.guild).await),
            GuildOp::Disband(req) => done(g.disband(user, req.guild).await),
            GuildOp::Protect(req) => done(g.protect(user, req).await),
            GuildOp::Donate(req) => g.donate(user, req, idem).await.map(ReplyBody::Donated),
            GuildOp::Payout(req) => g.payout(user, req, idem).await.map(ReplyBody::PaidOut),
            GuildOp::Vault(req) => g.vault(user, req.guild).await.map(ReplyBody::Vault),
            GuildOp::Status(req) => done(g.status(user, req).await),
            GuildOp::WalletGet(_) => g.wallet(&user.id).await.map(ReplyBody::Wallet),
        }
    }
}
