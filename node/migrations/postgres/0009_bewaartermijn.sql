-- Bewaartermijn: the monitor's aggregates of purged cases. See migrations/sqlite/0009_bewaartermijn.sql.
CREATE TABLE monitor_aggregates (
    jaar      INTEGER NOT NULL,
    indicator TEXT NOT NULL,
    partij    TEXT NOT NULL,
    sleutel   TEXT NOT NULL,
    aantal    BIGINT NOT NULL,
    som       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (jaar, indicator, partij, sleutel)
);
