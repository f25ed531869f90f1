//! Users: people who sign in to the werkplek and systems that call the API, each with a role. A system holds a
//! bearer token, of which only the SHA-256 is stored (the token is shown once). A person holds a password
//! (argon2id, hashed by [`crate::werkplek::auth`]) and a TOTP secret.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{Store, StoreError, on_pool};
use crate::access::UserRole;
use crate::audit::hex;

/// Prefix of every token, so a leaked one is recognisable (secret scanners) and the format can change later.
pub const TOKEN_PREFIX: &str = "wt1";

/// A user of this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id (part of its token, not secret).
    pub id: String,
    /// Who it is, for people (`Anna de Vries, begeleider`).
    pub name: String,
    /// What it is for (`begeleider`, `koppeling zaaksysteem`), in the audit log's words.
    pub purpose: String,
    /// What it may reach inside this node.
    pub role: UserRole,
    /// A person's sign-in name; `None` for a system that only holds a token.
    pub login: Option<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// Whether it was revoked (its token and its sign-in both stop working).
    pub revoked: bool,
}

/// A user just created, with its token: shown once, never stored.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The user.
    pub user: User,
    /// `wt1.<user id>.<64 hex digits>`.
    pub token: String,
}

/// What the sign-in checks about a person, read in one query.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// The argon2id PHC string; `None` for a system user.
    pub password_hash: Option<String>,
    /// The TOTP secret; `None` for a system user.
    pub totp_secret: Option<Vec<u8>>,
    /// Failed sign-ins in a row.
    pub failed_signins: i64,
    /// Locked until then, when set and still ahead.
    pub locked_until: Option<OffsetDateTime>,
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compare in time that depends only on the length.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The columns of [`User`], in this order, in every query below (a macro, so queries stay literals).
macro_rules! user_columns {
    () => {
        "id, name, purpose, role, login, created_at, revoked"
    };
}

type UserRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    OffsetDateTime,
    bool,
);

fn user_of(
    (id, name, purpose, role, login, created_at, revoked): UserRow,
) -> Result<User, StoreError> {
    let role = role
        .parse()
        .map_err(|_: crate::access::UnknownRole| StoreError::Corrupt { what: "user role" })?;
    Ok(User {
        id,
        name,
        purpose,
        role,
        login,
        created_at,
        revoked,
    })
}

/// A new user's id and token.
fn new_token() -> (String, String) {
    let id = hex(&rand::random::<[u8; 8]>());
    let token = format!("{TOKEN_PREFIX}.{id}.{}", hex(&rand::random::<[u8; 32]>()));
    (id, token)
}

impl Store {
    /// Create a `medewerker` with a token (see [`Store::create_user_with_role`]).
    pub async fn create_user(&self, name: &str, purpose: &str) -> Result<NewUser, StoreError> {
        self.create_user_with_role(name, purpose, UserRole::Medewerker)
            .await
    }

    /// Create a user for a system, with `role` and a token. The token is returned once; only its hash is stored.
    pub async fn create_user_with_role(
        &self,
        name: &str,
        purpose: &str,
        role: UserRole,
    ) -> Result<NewUser, StoreError> {
        let (id, token) = new_token();
        let user = self
            .insert_user(&id, name, purpose, role, &token, None)
            .await?;
        Ok(NewUser { user, token })
    }

    /// Create a person's account: `login`, a password already hashed (argon2id PHC string) and a TOTP secret.
    /// It also gets a token that is never shown (the column requires one), so it cannot call the API: a person
    /// signs in, a system holds a token.
    pub async fn create_account(
        &self,
        name: &str,
        login: &str,
        role: UserRole,
        password_hash: &str,
        totp_secret: &[u8],
    ) -> Result<User, StoreError> {
        let (id, token) = new_token();
        self.insert_user(
            &id,
            name,
            role.name(),
            role,
            &token,
            Some((login, password_hash, totp_secret)),
        )
        .await
    }

    async fn insert_user(
        &self,
        id: &str,
        name: &str,
        purpose: &str,
        role: UserRole,
        token: &str,
        account: Option<(&str, &str, &[u8])>,
    ) -> Result<User, StoreError> {
        let hash = token_hash(token);
        let now = self.now();
        let (login, password, totp) = match account {
            Some((l, p, t)) => (Some(l), Some(p), Some(t)),
            None => (None, None, None),
        };
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO users (id, name, purpose, token_hash, created_at, revoked, role, login, password_hash, \
                 totp_secret) VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(name)
            .bind(purpose)
            .bind(&hash[..])
            .bind(now)
            .bind(role.name())
            .bind(login)
            .bind(password)
            .bind(totp)
            .execute(p)
            .await?;
        });
        Ok(User {
            id: id.to_string(),
            name: name.to_string(),
            purpose: purpose.to_string(),
            role,
            login: login.map(str::to_string),
            created_at: now,
            revoked: false,
        })
    }

    /// The user a bearer token belongs to, if the token is valid and not revoked. The user is looked up by the id
    /// inside the token; the token's hash is then compared in constant time.
    pub async fn authenticate(&self, token: &str) -> Result<Option<User>, StoreError> {
        let mut parts = token.split('.');
        let (Some(TOKEN_PREFIX), Some(id), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            ", token_hash FROM users WHERE id = $1"
        );
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            OffsetDateTime,
            bool,
            Vec<u8>,
        );
        let row: Option<Row> = on_pool!(self, p => {
            sqlx::query_as(sql).bind(id).fetch_optional(p).await?
        });
        let given = token_hash(token);
        let Some((id, name, purpose, role, login, created_at, revoked, stored)) = row else {
            return Ok(None);
        };
        // A person's account has a token nobody was shown; refusing it here as well keeps "a person signs in, a
        // system holds a token" true even if that token leaked from a backup.
        if !constant_time_eq(&given, &stored) || revoked || login.is_some() {
            return Ok(None);
        }
        user_of((id, name, purpose, role, login, created_at, revoked)).map(Some)
    }

    /// A user by id.
    pub async fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
        let row: Option<UserRow> = on_pool!(self, p => {
            sqlx::query_as(sql).bind(id).fetch_optional(p).await?
        });
        row.map(user_of).transpose()
    }

    /// What the sign-in needs to know about the account with this `login`.
    pub async fn credentials(&self, login: &str) -> Result<Option<Credentials>, StoreError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            ", password_hash, totp_secret, failed_signins, locked_until FROM users WHERE login = $1"
        );
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            OffsetDateTime,
            bool,
            Option<String>,
            Option<Vec<u8>>,
            i32,
            Option<OffsetDateTime>,
        );
        let row: Option<Row> = on_pool!(self, p => {
            sqlx::query_as(sql).bind(login).fetch_optional(p).await?
        });
        let Some((
            id,
            name,
            purpose,
            role,
            login,
            created,
            revoked,
            password,
            totp,
            failed,
            locked,
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(Credentials {
            user: user_of((id, name, purpose, role, login, created, revoked))?,
            password_hash: password,
            totp_secret: totp,
            failed_signins: i64::from(failed),
            locked_until: locked,
        }))
    }

    /// Count a failed sign-in; once `lock_after` have failed in a row, lock the account until `locked_until`.
    /// Returns whether the account is now locked.
    pub async fn record_failed_signin(
        &self,
        user_id: &str,
        lock_after: i32,
        locked_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let failed: Option<(i32,)> = on_pool!(self, p => {
            sqlx::query_as(
                "UPDATE users SET failed_signins = failed_signins + 1, \
                 locked_until = CASE WHEN failed_signins + 1 >= $2 THEN $3 ELSE locked_until END \
                 WHERE id = $1 RETURNING failed_signins",
            )
            .bind(user_id)
            .bind(lock_after)
            .bind(locked_until)
            .fetch_optional(p)
            .await?
        });
        Ok(failed.is_some_and(|(n,)| n >= lock_after))
    }

    /// A sign-in succeeded: the count of failures starts again.
    pub async fn clear_failed_signins(&self, user_id: &str) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("UPDATE users SET failed_signins = 0, locked_until = NULL WHERE id = $1")
                .bind(user_id)
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Accept TOTP time step `step` for this user, once: false when this step or a later one was accepted
    /// before (a code seen on the wire cannot be replayed).
    pub async fn accept_totp_step(&self, user_id: &str, step: u64) -> Result<bool, StoreError> {
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        let done = on_pool!(self, p => {
            sqlx::query(
                "UPDATE users SET totp_last_step = $2 \
                 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
            )
            .bind(user_id)
            .bind(step)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Revoke a user: its token and its sign-in stop working, and its sessions end. Returns whether the user
    /// exists.
    pub async fn revoke_user(&self, id: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE users SET revoked = TRUE WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM web_sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            n
        });
        Ok(done == 1)
    }

    /// Every user, oldest first.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users ORDER BY created_at, id"
        );
        let rows: Vec<UserRow> = on_pool!(self, p => {
            sqlx::query_as(sql).fetch_all(p).await?
        });
        rows.into_iter().map(user_of).collect()
    }

    /// Whether any account with `role` that is not revoked exists (the first beheerder is made at `init`).
    pub async fn has_account_with_role(&self, role: UserRole) -> Result<bool, StoreError> {
        let n: (i64,) = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT COUNT(*) FROM users WHERE role = $1 AND login IS NOT NULL AND NOT revoked",
            )
            .bind(role.name())
            .fetch_one(p)
            .await?
        });
        Ok(n.0 > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
