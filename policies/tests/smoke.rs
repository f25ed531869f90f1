#[test]
fn covenant_loads() {
    match policies::Policy::load(policies::policy::COVENANT_POLICY) {
        Ok(p) => println!("{}", p.explain_markdown(Some(policies::Role::Corporatie))),
        Err(e) => panic!("{e}"),
    }
}
