//! API users and their bearer tokens. Only a token's SHA-256 is stored; the token itself is shown once.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{Store, StoreError, on_pool};
use crate::audit::hex;

/// Prefix of every token, so a leaked one is recognisable (secret scanners) and the format can change later.
pub const TOKEN_PREFIX: &str = "wt1";

/// An API user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id (part of its token, not secret).
    pub id: String,
    /// Who it is, for people (`Anna de Vries, begeleider`).
    pub name: String,
    /// Its role or purpose (`begeleider`, `import`).
    pub purpose: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// Whether its token was revoked.
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

type UserRow = (String, String, String, OffsetDateTime, bool);

fn user_of((id, name, purpose, created_at, revoked): UserRow) -> User {
    User {
        id,
        name,
        purpose,
        created_at,
        revoked,
    }
}

impl Store {
    /// Create a user and its token. The token is returned once; only its hash is stored.
    pub async fn create_user(&self, name: &str, purpose: &str) -> Result<NewUser, StoreError> {
        let id = hex(&rand::random::<[u8; 8]>());
        let token = format!("{TOKEN_PREFIX}.{id}.{}", hex(&rand::random::<[u8; 32]>()));
        let hash = token_hash(&token);
        let now = self.now();
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO users (id, name, purpose, token_hash, created_at, revoked) \
                 VALUES ($1, $2, $3, $4, $5, FALSE)",
            )
            .bind(id.as_str())
            .bind(name)
            .bind(purpose)
            .bind(&hash[..])
            .bind(now)
            .execute(p)
            .await?;
        });
        Ok(NewUser {
            user: User {
                id,
                name: name.to_string(),
                purpose: purpose.to_string(),
                created_at: now,
                revoked: false,
            },
            token,
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
        let row: Option<(String, String, String, OffsetDateTime, bool, Vec<u8>)> = on_pool!(self, p => {
            sqlx::query_as("SELECT id, name, purpose, created_at, revoked, token_hash FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        });
        let given = token_hash(token);
        Ok(
            row.and_then(|(id, name, purpose, created_at, revoked, stored)| {
                (constant_time_eq(&given, &stored) && !revoked)
                    .then(|| user_of((id, name, purpose, created_at, revoked)))
            }),
        )
    }

    /// Revoke a user's token. Returns whether the user exists.
    pub async fn revoke_user(&self, id: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => {
            sqlx::query("UPDATE users SET revoked = TRUE WHERE id = $1")
                .bind(id)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Every user, oldest first.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = on_pool!(self, p => {
            sqlx::query_as("SELECT id, name, purpose, created_at, revoked FROM users ORDER BY created_at, id")
                .fetch_all(p)
                .await?
        });
        Ok(rows.into_iter().map(user_of).collect())
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
