-- The werkplek: users get a role, people sign in with a password (argon2id) and a second factor (TOTP), and a
-- signed-in browser holds a session (ARCHITECTURE.md, "Werkplek").

-- Existing users keep what they could do: read and write cases.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'medewerker'
    CHECK (role IN ('medewerker', 'analist', 'privacyfunctionaris', 'beheerder'));
-- A person's sign-in name; absent for a system's API token.
ALTER TABLE users ADD COLUMN login TEXT;
-- The PHC string of the argon2id hash.
ALTER TABLE users ADD COLUMN password_hash TEXT;
-- The TOTP secret (RFC 6238), raw bytes. Needed to check a code, so stored as is; the database file is the
-- node's secret like its key.
ALTER TABLE users ADD COLUMN totp_secret BLOB;
-- The last TOTP time step accepted: a code is accepted once (RFC 6238 §5.2).
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
-- Failed sign-ins in a row, and until when the account is locked.
ALTER TABLE users ADD COLUMN failed_signins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TEXT;
CREATE UNIQUE INDEX users_login ON users (login) WHERE login IS NOT NULL;

-- A browser's session. Only the SHA-256 of its cookie is stored. `stage` is 'wachtwoord' between the password
-- and the second factor, 'aangemeld' after both.
CREATE TABLE web_sessions (
    token_hash BLOB PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    stage      TEXT NOT NULL CHECK (stage IN ('wachtwoord', 'aangemeld')),
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX web_sessions_user ON web_sessions (user_id);
