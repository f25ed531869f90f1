//! A whole Weer Thuis federation in one process, to test a policy change before it takes effect (#5).
