//! Wallets and vaults as accounts, changed only by ledger entries. An entry with an `idem` key
//! applies once: a second submission finds the first and changes nothing.

use sqlx::AnyConnection;

pub fn user_account(user: &str) -> String {
    format!("user:{user}")
}

pub fn guild_account(guild: i64) -> String {
    format!("guild:{guild}")
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LedgerRow {
    pub id: i64,
    pub account: String,
    pub currency: String,
    pub delta: i64,
    pub balance: i64,
    pub kind: String,
    pub reason: Option<String>,
    pub actor: Option<String>,
    pub ts_ms: i64,
}

const COLUMNS: &str = "id, account, currency, delta, balance, kind, reason, actor, ts_ms";

/// One balance change to make.
pub struct Entry<'a> {
    pub account: &'a str,
    pub currency: &'a str,
    pub delta: i64,
    pub kind: &'a str,
    pub reason: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub idem: Option<&'a str>,
    pub now_ms: i64,
}

#[derive(Debug)]
pub enum Applied {
    /// The entry was written.
    Done(LedgerRow),
    /// An entry with the same `idem` exists: this is it. The caller must roll back whatever
    /// else its transaction did, so a repeat changes nothing.
    Duplicate(LedgerRow),
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("the balance is {balance}")]
    Insufficient { balance: i64 },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Applies an entry inside the caller's transaction.
pub async fn apply(conn: &mut AnyConnection, e: &Entry<'_>) -> Result<Applied, LedgerError> {
    // A write first: it takes SQLite's write lock before anything is read (see `lock_guild`).
    sqlx::query(
        "INSERT INTO accounts (account, currency, balance) VALUES ($1, $2, 0) \
         ON CONFLICT (account, currency) DO NOTHING",
    )
    .bind(e.account)
    .bind(e.currency)
    .execute(&mut *conn)
    .await?;
    if let Some(idem) = e.idem {
        if let Some(first) = by_idem(conn, idem).await? {
            return Ok(Applied::Duplicate(first));
        }
    }
    // The condition keeps the balance non-negative under any concurrency: the row is locked
    // by the update, and the check is made on the value it changes.
    let balance: Option<i64> = sqlx::query_scalar(
        "UPDATE accounts SET balance = balance + $3 \
         WHERE account = $1 AND currency = $2 AND balance + $3 >= 0 RETURNING balance",
    )
    .bind(e.account)
    .bind(e.currency)
    .bind(e.delta)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(balance) = balance else {
        let balance = self::balance(conn, e.account, e.currency).await?;
        return Err(LedgerError::Insufficient { balance });
    };
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO ledger (account, currency, delta, balance, kind, reason, actor, idem, ts_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idem) DO NOTHING RETURNING id",
    )
    .bind(e.account)
    .bind(e.currency)
    .bind(e.delta)
    .bind(balance)
    .bind(e.kind)
    .bind(e.reason)
    .bind(e.actor)
    .bind(e.idem)
    .bind(e.now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    match (id, e.idem) {
        (Some(id), _) => Ok(Applied::Done(LedgerRow {
            id,
            account: e.account.to_owned(),
            currency: e.currency.to_owned(),
            delta: e.delta,
            balance,
            kind: e.kind.to_owned(),
            reason: e.reason.map(str::to_owned),
            actor: e.actor.map(str::to_owned),
            ts_ms: e.now_ms,
        })),
        // A concurrent submission of the same key committed first.
        (None, Some(idem)) => match by_idem(conn, idem).await? {
            Some(first) => Ok(Applied::Duplicate(first)),
            None => Err(LedgerError::Db(sqlx::Error::RowNotFound)),
        },
        (None, None) => Err(LedgerError::Db(sqlx::Error::RowNotFound)),
    }
}

pub async fn by_idem(
    conn: &mut AnyConnection,
    idem: &str,
) -> Result<Option<LedgerRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM ledger WHERE idem = $1"))
        .bind(idem)
        .fetch_optional(conn)
        .await
}

pub async fn balance(
    conn: &mut AnyConnection,
    account: &str,
    currency: &str,
) -> Result<i64, sqlx::Error> {
    let balance: Option<i64> =
        sqlx::query_scalar("SELECT balance FROM accounts WHERE account = $1 AND currency = $2")
            .bind(account)
            .bind(currency)
            .fetch_optional(conn)
            .await?;
    Ok(balance.unwrap_or(0))
}

pub async fn balances(
    conn: &mut AnyConnection,
    account: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT currency, balance FROM accounts WHERE account = $1 ORDER BY currency")
        .bind(account)
        .fetch_all(conn)
        .await
}

/// An account's entries since `since_ms`, newest first.
pub async fn recent(
    conn: &mut AnyConnection,
    account: &str,
    since_ms: i64,
    limit: i64,
) -> Result<Vec<LedgerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM ledger WHERE account = $1 AND ts_ms >= $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(account)
    .bind(since_ms)
    .bind(limit)
    .fetch_all(conn)
    .await
}
