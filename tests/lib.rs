//! End-to-end tests of the federation live in `tests/tests/`; this library holds their shared helpers.
