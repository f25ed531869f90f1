//! `weerthuis`: run and manage a node of the Weer Thuis federation.

fn main() {}
