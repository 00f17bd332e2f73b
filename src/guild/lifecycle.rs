//! A guild's life: create, read, edit, browse, disband.

use guildhall_protocol::{
    ev, Disbanded, GuildCreate, GuildEdit, GuildInfo, GuildList, GuildSearch, ProfileChanged,
};

use super::errors::{self, db_error};
use super::{now, to_i64, views, GuildService};
use crate::auth::User;
use crate::domain::filter::FilterLevel;
use crate::domain::guild::levels::capacity;
use crate::domain::guild::probation::auto_kick_choice_ok;
use crate::domain::guild::profile::{
    check_description, check_message, check_name, check_tag, name_key, Activity, JoinPolicy,
    WarFocus,
};
use crate::domain::guild::roles::{permit, Action};
use crate::store::guild::guilds::{self, NewGuild, OpenSlots, ProfileFields, Search, SearchSort};
use crate::store::guild::ledger::{self, Applied, Entry};
use crate::store::guild::{is_unique_violation, members, requests};

/// Most guilds one `guild.search` page returns.
pub const MAX_SEARCH_PAGE: u32 = 50;
const DEFAULT_SEARCH_PAGE: u32 = 20;
/// Language and region codes are short tags ("en", "pt-BR", "na").
const MAX_CODE_LEN: usize = 16;

impl GuildService {
    /// Creates a guild led by `user`, paying the preset's price from their wallet in the same
    /// transaction: either both happen or neither.
    pub async fn create(&self, user: &User, req: GuildCreate) -> Result<GuildInfo, errors::Body> {
        let p = &*self.preset;
        let name = check_name(p, &req.name).map_err(errors::profile)?;
        // Names show in public browsers and leaderboards: slurs and strong profanity are out.
        if self.filter.check(&name, FilterLevel::Medium).is_some() {
            return Err(errors::invalid("that guild name is not allowed"));
        }
        let tag = check_tag(p, &req.tag).map_err(errors::profile)?;
        let description = req.description.unwrap_or_default();
        check_description(p, &description).map_err(errors::profile)?;
        let language = checked_code("language", req.language.as_deref())?;
        let region = checked_code("region", req.region.as_deref())?;
        let war_focus =
            parse_opt(req.war_focus.as_deref(), "war_focus", WarFocus::parse)?.unwrap_or_default();
        let join_policy = parse_opt(req.join_policy.as_deref(), "join_policy", JoinPolicy::parse)?
            .unwrap_or(JoinPolicy::Open);
        let now = now();

        let mut tx = self.db.begin().await.map_err(db_error)?;
        // The debit comes first: its upsert takes the write lock (see `lock_guild`).
        let account = ledger::user_account(&user.id);
        let cost = Entry {
            account: &account,
            currency: &p.currency,
            delta: -to_i64(p.create_cost),
            kind: "guild_create",
            reason: Some(&name),
            actor: Some(&user.id),
            idem: None,
            now_ms: now,
        };
        match ledger::apply(&mut tx, &cost).await {
            Ok(Applied::Done(_)) => {}
            Ok(Applied::Duplicate(_)) => return Err(errors::conflict("already created")),
            Err(e) => return Err(errors::ledger(e, &p.currency)),
        }
        // Dropping the transaction on any refusal below rolls the debit back.
        if members::of_user(&mut tx, &user.id)
            .await
            .map_err(db_error)?
            .is_some()
        {
            return Err(errors::conflict(
                "you are already in a guild; leave it first",
            ));
        }
        let key = name_key(&name);
        let new = NewGuild {
            name: &name,
            name_key: &key,
            tag: &tag,
            description: &description,
            language: language.as_deref(),
            region: region.as_deref(),
            war_focus: war_focus.as_str(),
            join_policy: join_policy.as_str(),
            profanity: "medium",
            leader_id: &user.id,
            leader_name: &user.name,
            now_ms: now,
        };
        let id = match guilds::insert(&mut tx, &new).await {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => {
                return Err(errors::conflict("a guild with this name or tag exists"))
            }
            Err(e) => return Err(db_error(e)),
        };
        members::insert(&mut tx, id, &user.id, &user.name, &p.leader().name, now)
            .await
            .map_err(db_error)?;
        requests::clear_user(&mut tx, &user.id)
            .await
            .map_err(db_error)?;
        let info = self.info(&mut tx, id, false).await?;
        tx.commit().await.map_err(db_error)?;
        // Their next hello today counts as a member's login.
        self.logins_seen.remove(&user.id);
        Ok(GuildInfo {
            role: Some(p.leader().name.clone()),
            ..info
        })
    }

    /// A guild's profile, with its roster when `roster`.
    pub(super) async fn info(
        &self,
        conn: &mut sqlx::AnyConnection,
        guild: i64,
        roster: bool,
    ) -> Result<GuildInfo, errors::Body> {
        let row = guilds::get(conn, guild)
            .await
            .map_err(db_error)?
            .ok_or_else(errors::no_guild)?;
        let vault = ledger::balance(conn, &ledger::guild_account(guild), &self.preset.currency)
            .await
            .map_err(db_error)?;
        let members = if roster {
            let rows = members::list(conn, guild).await.map_err(db_error)?;
            let mut list: Vec<_> = rows
                .iter()
                .map(|m| views::member(&self.preset, m))
                .collect();
            list.sort_by_key(|m| (m.rank, m.joined));
            Some(list)
        } else {
            None
        };
        Ok(GuildInfo {
            guild: views::profile(&self.preset, &row, vault),
            members,
            role: None,
        })
    }

    /// The public profile and roster.
    pub async fn get(&self, guild: u64) -> Result<GuildInfo, errors::Body> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        self.info(&mut conn, to_i64(guild), true).await
    }

    /// Edits the profile (leader), the guild message (officers) or settings (leader). Each
    /// field present needs its permission; if one is missing nothing changes.
    pub async fn edit(&self, user: &User, req: GuildEdit) -> Result<GuildInfo, errors::Body> {
        let p = &*self.preset;
        let id = to_i64(req.guild);
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        let needs = [
            (
                req.description.is_some()
                    || req.language.is_some()
                    || req.region.is_some()
                    || req.war_focus.is_some(),
                Action::EditProfile,
            ),
            (req.message.is_some(), Action::EditMessage),
            (
                req.join_policy.is_some()
                    || req.profanity.is_some()
                    || req.auto_kick_days.is_some(),
                Action::EditSettings,
            ),
        ];
        for (wanted, action) in needs {
            if wanted {
                permit(p, &actor.role, action).map_err(errors::denied)?;
            }
        }
        let row = guilds::get(&mut tx, id)
            .await
            .map_err(db_error)?
            .ok_or_else(errors::no_guild)?;
        if let Some(d) = &req.description {
            check_description(p, d).map_err(errors::profile)?;
        }
        if let Some(m) = &req.message {
            check_message(p, m).map_err(errors::profile)?;
        }
        let language = match &req.language {
            Some(l) => checked_code("language", Some(l))?,
            None => row.language.clone(),
        };
        let region = match &req.region {
            Some(r) => checked_code("region", Some(r))?,
            None => row.region.clone(),
        };
        let war_focus = parse_opt(req.war_focus.as_deref(), "war_focus", WarFocus::parse)?
            .map_or(row.war_focus.clone(), |w| w.as_str().to_owned());
        let join_policy = parse_opt(req.join_policy.as_deref(), "join_policy", JoinPolicy::parse)?
            .map_or(row.join_policy.clone(), |j| j.as_str().to_owned());
        let profanity = match req.profanity.as_deref() {
            Some(s) => parse_filter(s)?.to_owned(),
            None => row.profanity.clone(),
        };
        let auto_kick_days = match req.auto_kick_days {
            Some(0) => 0,
            Some(days) if auto_kick_choice_ok(p, Some(days)) => i64::from(days),
            Some(_) => {
                let choices: Vec<String> =
                    p.auto_kick_choices.iter().map(|d| d.to_string()).collect();
                return Err(errors::invalid(format!(
                    "auto_kick_days is 0 (off) or one of {}",
                    choices.join(", ")
                )));
            }
            None => row.auto_kick_days,
        };
        let fields = ProfileFields {
            description: req.description.as_deref().unwrap_or(&row.description),
            message: req.message.as_deref().unwrap_or(&row.message),
            language: language.as_deref(),
            region: region.as_deref(),
            war_focus: &war_focus,
            join_policy: &join_policy,
            profanity: &profanity,
            auto_kick_days,
        };
        guilds::update_profile(&mut tx, id, &fields)
            .await
            .map_err(db_error)?;
        let info = self.info(&mut tx, id, false).await?;
        tx.commit().await.map_err(db_error)?;
        self.publish(
            id,
            ev::GUILD_PROFILE,
            &ProfileChanged {
                guild: info.guild.clone(),
            },
        )
        .await;
        Ok(info)
    }

    /// The guild browser.
    pub async fn search(&self, req: GuildSearch) -> Result<GuildList, errors::Body> {
        let p = &*self.preset;
        let activity = parse_opt(req.activity.as_deref(), "activity", Activity::parse)?;
        let war_focus = parse_opt(req.war_focus.as_deref(), "war_focus", WarFocus::parse)?;
        let sort = match req.sort.as_deref() {
            None | Some("members") => SearchSort::Members,
            Some("level") => SearchSort::Level,
            Some("win_rate") => SearchSort::WinRate,
            Some("activity") => SearchSort::Activity,
            Some(_) => {
                return Err(errors::invalid(
                    "sort is one of members, level, win_rate, activity",
                ))
            }
        };
        let text = req.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if text.is_some_and(|q| q.chars().count() > p.name_max) {
            return Err(errors::invalid(
                "the search text is longer than a guild name",
            ));
        }
        // Capacity grows with level; the store compares against whichever applies.
        let open_slots = req.open_slots.unwrap_or(false).then(|| {
            let grown_at = p
                .perks
                .capacity
                .iter()
                .filter(|c| c.value != p.capacity)
                .map(|c| c.level)
                .min()
                .unwrap_or(u32::MAX);
            OpenSlots {
                base: i64::from(capacity(p, 1)),
                grown_at_level: i64::from(grown_at),
                grown: i64::from(capacity(p, grown_at.min(p.max_level()))),
            }
        });
        let limit = req
            .limit
            .unwrap_or(DEFAULT_SEARCH_PAGE)
            .clamp(1, MAX_SEARCH_PAGE);
        let search = Search {
            text,
            language: req.language.as_deref(),
            region: req.region.as_deref(),
            activity: activity.map(|a| a.as_str()),
            war_focus: war_focus.map(|w| w.as_str()),
            open_slots,
            sort,
            limit: i64::from(limit),
            offset: i64::from(req.offset.unwrap_or(0)),
        };
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let rows = guilds::search(&mut conn, &search).await.map_err(db_error)?;
        let mut guilds = Vec::with_capacity(rows.len());
        for row in rows {
            let vault = ledger::balance(&mut conn, &ledger::guild_account(row.id), &p.currency)
                .await
                .map_err(db_error)?;
            guilds.push(views::profile(p, &row, vault));
        }
        Ok(GuildList { guilds })
    }

    /// Disbands the guild: members, applications and invites go; the vault's balance is
    /// written off in the ledger; the room hears `guild.disbanded` and empties.
    pub async fn disband(&self, user: &User, guild: u64) -> Result<(), errors::Body> {
        let p = &*self.preset;
        let id = to_i64(guild);
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        permit(p, &actor.role, Action::Disband).map_err(errors::denied)?;
        let account = ledger::guild_account(id);
        let vault = ledger::balance(&mut tx, &account, &p.currency)
            .await
            .map_err(db_error)?;
        if vault > 0 {
            let entry = Entry {
                account: &account,
                currency: &p.currency,
                delta: -vault,
                kind: "disband",
                reason: None,
                actor: Some(&user.id),
                idem: None,
                now_ms: now(),
            };
            ledger::apply(&mut tx, &entry)
                .await
                .map_err(|e| errors::ledger(e, &p.currency))?;
        }
        guilds::delete(&mut tx, id).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        self.publish(
            id,
            ev::GUILD_DISBANDED,
            &Disbanded {
                by: views::user(&user.id, &user.name),
            },
        )
        .await;
        Ok(())
    }
}

fn parse_opt<T>(
    value: Option<&str>,
    field: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>, errors::Body> {
    match value {
        None => Ok(None),
        Some(s) => parse(s)
            .map(Some)
            .ok_or_else(|| errors::invalid(format!("{s:?} is not a valid {field}"))),
    }
}

fn parse_filter(s: &str) -> Result<&'static str, errors::Body> {
    match s {
        "off" => Ok("off"),
        "medium" => Ok("medium"),
        "strict" => Ok("strict"),
        _ => Err(errors::invalid("profanity is off, medium or strict")),
    }
}

/// Language and region are short codes; an empty one clears the field.
fn checked_code(field: &str, value: Option<&str>) -> Result<Option<String>, errors::Body> {
    let Some(v) = value.map(str::trim) else {
        return Ok(None);
    };
    if v.is_empty() {
        return Ok(None);
    }
    let ok = v.len() <= MAX_CODE_LEN
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(errors::invalid(format!(
            "{field} is a code of at most {MAX_CODE_LEN} letters, digits, - or _"
        )));
    }
    Ok(Some(v.to_owned()))
}
