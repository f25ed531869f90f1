//! The werkplek's browser sessions. The cookie holds a random token; only its SHA-256 is stored, so a copy of
//! the database does not sign anyone in.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{Store, StoreError, User, on_pool};
use crate::audit::hex;

/// How far a session has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// The password was right; the second factor is still to come. Reaches nothing but the TOTP page.
    Password,
    /// Both factors given.
    SignedIn,
}

impl SessionStage {
    fn name(self) -> &'static str {
        match self {
            SessionStage::Password => "wachtwoord",
            SessionStage::SignedIn => "aangemeld",
        }
    }
}

/// A live session, read back from its cookie.
#[derive(Debug, Clone)]
pub struct WebSession {
    /// Whose.
    pub user: User,
    /// How far it has come.
    pub stage: SessionStage,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// When it ends.
    pub expires_at: OffsetDateTime,
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Store {
    /// Start a session for `user` at `stage`, ending at `expires_at`. Returns the cookie's token (shown to the
    /// browser only) and the session.
    pub async fn create_session(
        &self,
        user: &User,
        stage: SessionStage,
        expires_at: OffsetDateTime,
    ) -> Result<(String, WebSession), StoreError> {
        let token = hex(&rand::random::<[u8; 32]>());
        let csrf = hex(&rand::random::<[u8; 32]>());
        let now = self.now();
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO web_sessions (token_hash, user_id, stage, csrf, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&hash(&token)[..])
            .bind(user.id.as_str())
            .bind(stage.name())
            .bind(csrf.as_str())
            .bind(now)
            .bind(expires_at)
            .execute(p)
            .await?;
        });
        Ok((
            token,
            WebSession {
                user: user.clone(),
                stage,
                csrf,
                expires_at,
            },
        ))
    }

    /// The session a cookie's token belongs to, if it exists, has not expired and its user is not revoked.
    pub async fn session(&self, token: &str) -> Result<Option<WebSession>, StoreError> {
        let row: Option<(String, String, String, OffsetDateTime)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT user_id, stage, csrf, expires_at FROM web_sessions WHERE token_hash = $1",
            )
            .bind(&hash(token)[..])
            .fetch_optional(p)
            .await?
        });
        let Some((user_id, stage, csrf, expires_at)) = row else {
            return Ok(None);
        };
        if expires_at <= self.now() {
            self.end_session(token).await?;
            return Ok(None);
        }
        let stage = match stage.as_str() {
            "wachtwoord" => SessionStage::Password,
            "aangemeld" => SessionStage::SignedIn,
            _ => {
                return Err(StoreError::Corrupt {
                    what: "session stage",
                });
            }
        };
        let Some(user) = self.user(&user_id).await?.filter(|u| !u.revoked) else {
            return Ok(None);
        };
        Ok(Some(WebSession {
            user,
            stage,
            csrf,
            expires_at,
        }))
    }

    /// End a session (sign-out, or a step that replaces it). Ending one that does not exist is not an error.
    pub async fn end_session(&self, token: &str) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
                .bind(&hash(token)[..])
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Remove every session that has expired. Returns how many.
    pub async fn purge_expired_sessions(&self) -> Result<u64, StoreError> {
        let now = self.now();
        let n = on_pool!(self, p => {
            sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n)
    }
}
