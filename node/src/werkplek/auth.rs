//! Signing in: a password (argon2id) and then a TOTP code (RFC 6238), for every account — the BIO asks for a
//! second factor wherever personal data can be seen, and a beheerder who makes accounts can make one that does.
//! After [`LOCK_AFTER`] failures in a row (password or code) the account is locked for [`LOCK_FOR`]. Every
//! sign-in, failure, lock-out and sign-out is in the audit log.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{Form, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use super::{PRE_SIGNIN_COOKIE, PageError, SESSION_COOKIE, cookie, layout, set_cookie};
use crate::access::UserRole;
use crate::api::ApiState;
use crate::audit::{AuditEntry, Operation, hex};
use crate::service::Node;
use crate::store::{SessionStage, StoreError, User};

/// Failed attempts in a row before an account is locked.
pub const LOCK_AFTER: i32 = 5;
/// How long a locked account stays locked.
pub const LOCK_FOR: Duration = Duration::minutes(15);
/// How long a session lasts: a working day. Signing in again after it is the price of a stolen cookie expiring.
pub const SESSION_LENGTH: Duration = Duration::hours(9);
/// How long the step between password and code may take.
const SECOND_FACTOR_WINDOW: Duration = Duration::minutes(5);
/// The shortest password accepted (NCSC: length over complexity).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The issuer shown in an authenticator app.
const TOTP_ISSUER: &str = "Weer Thuis";

/// Compare two secrets in time that depends only on their length.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

/// Why an account could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The password is too short.
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    /// The login is taken or not a plain name.
    #[error("login {0:?} must be 3 to 64 letters, digits, '.', '-' or '_', and not taken")]
    Login(String),
    /// Hashing failed (argon2's own error, which holds no secret).
    #[error("cannot hash the password: {0}")]
    Hash(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A person's account just made: what they need to sign in, shown once.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The user.
    pub user: User,
    /// The password (given, or generated when none was given).
    pub password: String,
    /// The TOTP secret in base32, to type into an authenticator app.
    pub totp_secret: String,
    /// The same as an `otpauth://` URI (what a QR code would hold).
    pub otpauth_uri: String,
}

/// Hash a password with argon2id (the crate's defaults: OWASP's m=19 MiB, t=2, p=1) and a random salt.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string. A malformed hash matches nothing.
pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn totp(secret: &[u8]) -> Option<totp_rs::Totp> {
    totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .build()
        .ok()
}

/// The TOTP code for `secret` at unix time `at` (what an authenticator app shows; tests and the demo use it).
pub fn totp_code(secret: &[u8], at: u64) -> Option<String> {
    totp(secret).map(|t| t.generate(at).to_string())
}

/// The TOTP code for a base32 secret as printed by `user add`, `ahead` time steps from now (0: the code an
/// authenticator app shows now; 1: the next one, which the node also accepts).
pub fn totp_code_now(secret_base32: &str, ahead: u64) -> Option<String> {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).ok()?;
    totp_code(secret.as_ref(), unix_now() + 30 * ahead)
}

/// The time step a code is valid for, if it is valid for this secret now (one step of clock skew either way).
fn check_code(secret: &[u8], code: &str) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    totp(secret)?.check(&code, unix_now())
}

/// TOTP runs on the real clock, as the phone in the user's hand does — not on the node's configurable clock.
fn unix_now() -> u64 {
    u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

fn valid_login(login: &str) -> bool {
    (3..=64).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Make a person's account with a password (or a generated one) and a fresh TOTP secret.
pub async fn create_account(
    node: &Node,
    name: &str,
    login: &str,
    role: UserRole,
    password: Option<&str>,
) -> Result<NewAccount, AccountError> {
    if !valid_login(login) || node.store().credentials(login).await?.is_some() {
        return Err(AccountError::Login(login.to_string()));
    }
    let password = match password {
        Some(p) if p.chars().count() < MIN_PASSWORD_CHARS => {
            return Err(AccountError::PasswordTooShort);
        }
        Some(p) => p.to_string(),
        // 20 characters from a 32-letter alphabet: 100 bits, easy to type from a printout.
        None => random_password(),
    };
    let phc = {
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))??
    };
    let secret: [u8; 20] = rand::random();
    let user = node
        .store()
        .create_account(name, login, role, &phc, &secret)
        .await?;
    let totp_secret = totp_rs::Secret::from(secret.to_vec()).to_base32();
    let otpauth_uri = format!(
        "otpauth://totp/{issuer}:{login}%40{partner}?secret={totp_secret}&issuer={issuer}",
        issuer = TOTP_ISSUER.replace(' ', "%20"),
        partner = node.partner().to_string().replace(':', "-"),
    );
    Ok(NewAccount {
        user,
        password,
        totp_secret,
        otpauth_uri,
    })
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789AB";
    let bytes: [u8; 20] = rand::random();
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % 32] as char)
        .collect()
}

/// Record an authentication event in the audit log. A failure to log is logged, not shown: the person
/// signing in cannot do anything about it, and refusing the sign-in would lock everyone out of a node whose
/// disk is full — the log line tells the beheerder.
async fn audit(node: &Node, activity: &str, user: Option<&User>, ok: bool) {
    let mut entry = AuditEntry::new(
        Operation::Authentication,
        activity,
        "toegang tot de werkplek (BIO 9.4)",
        node.clock_now(),
    )
    .user(user.map(|u| u.id.clone()));
    if !ok {
        entry = entry.failed();
    }
    if let Err(e) = node.store().append_audit(&entry).await {
        tracing::error!(error = %e, activity, "werkplek: cannot record a sign-in event");
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct SignInForm {
    gebruikersnaam: String,
    wachtwoord: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct CodeForm {
    code: String,
}

/// `GET /werkplek/aanmelden`: the sign-in form, with a fresh double-submit token.
pub(super) async fn sign_in_page(headers: HeaderMap) -> Response {
    sign_in_form(&headers, None)
}

fn sign_in_form(headers: &HeaderMap, error: Option<&str>) -> Response {
    let token = hex(&rand::random::<[u8; 16]>());
    let body = html! {
        h1 { "Aanmelden" }
        p { "Meld u aan met uw gebruikersnaam en wachtwoord. Daarna vraagt de werkplek de code uit uw authenticator-app." }
        @if let Some(error) = error {
            div.melding.fout role="alert" id="aanmelden-fout" { (error) }
        }
        form method="post" action="/werkplek/aanmelden" {
            input type="hidden" name="_csrf" value=(token);
            div.veld {
                label for="gebruikersnaam" { "Gebruikersnaam" }
                input #gebruikersnaam type="text" name="gebruikersnaam" autocomplete="username" required
                    aria-describedby=[error.map(|_| "aanmelden-fout")];
            }
            div.veld {
                label for="wachtwoord" { "Wachtwoord" }
                input #wachtwoord type="password" name="wachtwoord" autocomplete="current-password" required;
            }
            button.primair type="submit" { "Aanmelden" }
        }
    };
    let mut res = layout::page("Aanmelden", None, body).into_response();
    if let Ok(v) = set_cookie(headers, PRE_SIGNIN_COOKIE, &token, 600).parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

const WRONG: &str = "Deze combinatie van gebruikersnaam en wachtwoord kennen we niet.";
const LOCKED: &str = "Dit account is tijdelijk vergrendeld na te veel mislukte pogingen. Probeer het over 15 minuten opnieuw of vraag de beheerder.";

/// `POST /werkplek/aanmelden`: check the password; on success a session that reaches only the code step.
pub(super) async fn sign_in(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, PageError> {
    let node = &state.node;
    let Some(creds) = node.store().credentials(form.gebruikersnaam.trim()).await? else {
        // Hash anyway, so an unknown name takes as long as a wrong password.
        let password = form.wachtwoord.clone();
        let _ = tokio::task::spawn_blocking(move || hash_password(&password)).await;
        audit(node, "aanmelden.onbekende_gebruiker", None, false).await;
        return Ok(sign_in_form(&headers, Some(WRONG)));
    };
    let user = creds.user.clone();
    if user.revoked {
        audit(node, "aanmelden.ingetrokken", Some(&user), false).await;
        return Ok(sign_in_form(&headers, Some(WRONG)));
    }
    if creds.locked_until.is_some_and(|t| t > node.clock_now()) {
        audit(node, "aanmelden.vergrendeld", Some(&user), false).await;
        return Ok(sign_in_form(&headers, Some(LOCKED)));
    }
    let right = match creds.password_hash {
        Some(phc) => {
            let password = form.wachtwoord.clone();
            tokio::task::spawn_blocking(move || verify_password(&phc, &password))
                .await
                .unwrap_or(false)
        }
        None => false,
    };
    if !right {
        let locked = fail(node, &user).await?;
        return Ok(sign_in_form(
            &headers,
            Some(if locked { LOCKED } else { WRONG }),
        ));
    }
    let (token, _) = node
        .store()
        .create_session(
            &user,
            SessionStage::Password,
            node.clock_now() + SECOND_FACTOR_WINDOW,
        )
        .await?;
    audit(node, "aanmelden.wachtwoord", Some(&user), true).await;
    Ok(with_session(
        &headers,
        &token,
        SECOND_FACTOR_WINDOW,
        Redirect::to("/werkplek/tweede-factor"),
    ))
}

/// Count a failure; returns whether the account is now locked (and logs that too).
async fn fail(node: &Node, user: &User) -> Result<bool, PageError> {
    let locked = node
        .store()
        .record_failed_signin(&user.id, LOCK_AFTER, node.clock_now() + LOCK_FOR)
        .await?;
    audit(node, "aanmelden.mislukt", Some(user), false).await;
    if locked {
        tracing::warn!(user = %user.id, "werkplek: account locked after repeated failed sign-ins");
        audit(node, "aanmelden.account_vergrendeld", Some(user), false).await;
    }
    Ok(locked)
}

fn with_session(headers: &HeaderMap, token: &str, length: Duration, then: Redirect) -> Response {
    let mut res = then.into_response();
    for cookie in [
        set_cookie(headers, SESSION_COOKIE, token, length.whole_seconds()),
        set_cookie(headers, PRE_SIGNIN_COOKIE, "", 0),
    ] {
        if let Ok(v) = cookie.parse() {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// `GET /werkplek/tweede-factor`: the code step, for a session past the password.
pub(super) async fn second_factor_page(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    match super::session_of(&headers, &state).await? {
        Some(s) if s.stage == SessionStage::Password => Ok(code_form(&s.csrf, None)),
        Some(_) => Ok(Redirect::to("/werkplek").into_response()),
        None => Err(PageError::SignIn),
    }
}

fn code_form(csrf: &str, error: Option<&str>) -> Response {
    let body: Markup = html! {
        h1 { "Code uit uw authenticator-app" }
        p { "Typ de zes cijfers die uw authenticator-app nu toont voor Weer Thuis." }
        @if let Some(error) = error {
            div.melding.fout role="alert" id="code-fout" { (error) }
        }
        form method="post" action="/werkplek/tweede-factor" {
            input type="hidden" name="_csrf" value=(csrf);
            div.veld {
                label for="code" { "Code" }
                input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code"
                    pattern="[0-9 ]*" required aria-describedby=[error.map(|_| "code-fout")];
            }
            button.primair type="submit" { "Bevestigen" }
        }
    };
    layout::page("Tweede factor", None, body).into_response()
}

/// `POST /werkplek/tweede-factor`: check the code; on success the session is replaced by a signed-in one (a
/// new token, so a session id seen before sign-in is worth nothing after).
pub(super) async fn second_factor(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let node = &state.node;
    let Some(old_token) = cookie(&headers, SESSION_COOKIE) else {
        return Err(PageError::SignIn);
    };
    let Some(session) = node
        .store()
        .session(&old_token)
        .await?
        .filter(|s| s.stage == SessionStage::Password)
    else {
        return Err(PageError::SignIn);
    };
    let user = session.user.clone();
    let Some(login) = user.login.as_deref() else {
        return Err(PageError::SignIn);
    };
    let creds = node
        .store()
        .credentials(login)
        .await?
        .ok_or(PageError::SignIn)?;
    if creds.locked_until.is_some_and(|t| t > node.clock_now()) {
        node.store().end_session(&old_token).await?;
        audit(node, "aanmelden.vergrendeld", Some(&user), false).await;
        return Ok(sign_in_form(&headers, Some(LOCKED)));
    }
    let step = creds
        .totp_secret
        .as_deref()
        .and_then(|secret| check_code(secret, &form.code));
    let accepted = match step {
        Some(step) => node.store().accept_totp_step(&user.id, step).await?,
        None => false,
    };
    if !accepted {
        if fail(node, &user).await? {
            node.store().end_session(&old_token).await?;
            return Ok(sign_in_form(&headers, Some(LOCKED)));
        }
        return Ok(code_form(
            &session.csrf,
            Some(
                "Deze code klopt niet of is al gebruikt. Wacht op de volgende code en probeer het opnieuw.",
            ),
        ));
    }
    node.store().end_session(&old_token).await?;
    node.store().clear_failed_signins(&user.id).await?;
    let (token, _) = node
        .store()
        .create_session(
            &user,
            SessionStage::SignedIn,
            node.clock_now() + SESSION_LENGTH,
        )
        .await?;
    audit(node, "aanmelden.geslaagd", Some(&user), true).await;
    tracing::info!(user = %user.id, role = %user.role, "werkplek: signed in");
    Ok(with_session(
        &headers,
        &token,
        SESSION_LENGTH,
        Redirect::to("/werkplek"),
    ))
}

/// `POST /werkplek/afmelden`: end the session here (the cookie alone is worth nothing after).
pub(super) async fn sign_out(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let user = state.node.store().session(&token).await?.map(|s| s.user);
        state.node.store().end_session(&token).await?;
        audit(&state.node, "afmelden", user.as_ref(), true).await;
    }
    let mut res = Redirect::to("/werkplek/aanmelden").into_response();
    if let Ok(v) = set_cookie(&headers, SESSION_COOKIE, "", 0).parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let phc = hash_password("een lang wachtwoord").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password(&phc, "een lang wachtwoord"));
        assert!(!verify_password(&phc, "een ander wachtwoord"));
        assert!(!verify_password("geen hash", "een lang wachtwoord"));
    }

    #[test]
    fn a_code_is_valid_for_its_secret() {
        let secret = [7u8; 20];
        let code = totp_code(&secret, unix_now()).unwrap();
        assert!(check_code(&secret, &code).is_some());
        assert!(check_code(&[8u8; 20], &code).is_none());
        assert!(check_code(&secret, "12345").is_none());
    }

    #[test]
    fn generated_passwords_are_long_enough() {
        let p = random_password();
        assert_eq!(p.chars().count(), 20);
        assert!(p.chars().count() >= MIN_PASSWORD_CHARS);
    }
}
