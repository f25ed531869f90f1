-- The werkplek: users get a role, people sign in with a password (argon2id) and a second factor (TOTP), and a
-- signed-in browser holds a session (ARCHITECTURE.md, "Werkplek").

-- Existing users keep what they could do: read and write cases.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'medewerker'
    CHECK (role IN ('medewerker', 'analist', 'privacyfunctionaris', 'beheerder'));
-- A person's sign-in name; absent for a system's API token.
ALTER TABLE users ADD COLUMN login TEXT;
-- The PHC string of the argon2id hash.
ALTER TABLE users ADD COLUMN password_hash TEXT;
-- The TOTP secret (RFC 6238), raw bytes.
ALTER TABLE users ADD COLUMN totp_secret BYTEA;
-- The last TOTP time step accepted: a code is accepted once (RFC 6238 §5.2).
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
-- Failed sign-ins in a row, and until when the account is locked.
ALTER TABLE users ADD COLUMN failed_signins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TIMESTAMPTZ;
CREATE UNIQUE INDEX users_login ON users (login) WHERE login IS NOT NULL;

-- A browser's session. Only the SHA-256 of its cookie is stored.
CREATE TABLE web_sessions (
    token_hash BYTEA PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    stage      TEXT NOT NULL CHECK (stage IN ('wachtwoord', 'aangemeld')),
    csrf       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
