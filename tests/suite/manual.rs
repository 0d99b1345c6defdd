//! The manual says what the code does: the keymap table in `docs/console.md`
//! is generated from the table the console dispatches on and checked here
//! (`MANDATE_UPDATE_README=1` rewrites it); the routing example in
//! `docs/routing-and-paging.md` is a valid routing file.

const START: &str = "<!-- keymap:start (generated from src/console/keymap.rs; a test keeps it in sync) -->\n";
const END: &str = "<!-- keymap:end -->";

#[test]
fn the_manuals_keymap_is_the_keymap() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/console.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = readme.find(START).expect("the keymap markers in docs/console.md") + START.len();
    let end = readme[start..].find(END).expect("the end marker") + start;
    let table = mandate::console::keymap::markdown();
    if std::env::var_os("MANDATE_UPDATE_README").is_some() {
        std::fs::write(path, format!("{}{table}{}", &readme[..start], &readme[end..])).unwrap();
        return;
    }
    assert_eq!(
        readme[start..end],
        table,
        "docs/console.md's keymap differs from src/console/keymap.rs; run MANDATE_UPDATE_README=1 tests/run manual"
    );
}

#[test]
fn every_intervention_of_the_seed_has_a_key() {
    use mandate::api::InterventionKind;
    let table = mandate::console::keymap::markdown();
    for kind in InterventionKind::ALL {
        let action = mandate::console::keymap::KeyAction::parse(kind.as_str()).expect("a key action per intervention");
        assert!(mandate::console::keymap::DEFAULTS.iter().any(|b| b.2 == action), "{kind} has no key");
    }
    assert!(table.contains("| root causes | `C` | confirm cause |"));
}

/// The manual's complete routing example is a valid routing file that routes
/// as its comments say.
#[test]
fn the_manuals_routing_example_is_valid() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/routing-and-paging.md")).unwrap();
    let start = readme.find("```toml\nfallback = ").expect("the routing example") + "```toml\n".len();
    let end = readme[start..].find("```").unwrap() + start;
    let routing = mandate::routing::Routing::from_toml(&readme[start..end], "docs/routing-and-paging.md").unwrap();
    let names: Vec<&str> = routing.rules().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["freeze", "pci-after-hours", "pci", "critical", "low"]);
    let narrow = &routing.rules()[1];
    assert_eq!((narrow.matches.tags.as_slice(), narrow.start_level), (&["pci".to_owned()][..], 1), "extends pci");
    assert_eq!(routing.schedule("payments").unwrap().rotation.len(), 3);
    // Every channel has a receiver, so nothing it routes is undeliverable.
    assert!(["webhook", "slack", "pagerduty", "email"].iter().all(|c| routing.receivers().has(c)));
    assert!(routing.warnings().is_empty(), "{:?}", routing.warnings());
    assert_eq!(routing.receivers().email.as_ref().unwrap().address_of("@ana"), "ana@example.com");
    assert_eq!(routing.limits().group_interval, chrono::Duration::seconds(60));
}
