//! The README's keymap table is the keymap: generated from the table the
//! console dispatches on, and checked here. `MANDATE_UPDATE_README=1` rewrites it.

const START: &str = "<!-- keymap:start (generated from src/console/keymap.rs; a test keeps it in sync) -->\n";
const END: &str = "<!-- keymap:end -->";

#[test]
fn the_readme_keymap_is_the_keymap() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = readme.find(START).expect("the keymap markers in README.md") + START.len();
    let end = readme[start..].find(END).expect("the end marker") + start;
    let table = mandate::console::keymap::markdown();
    if std::env::var_os("MANDATE_UPDATE_README").is_some() {
        std::fs::write(path, format!("{}{table}{}", &readme[..start], &readme[end..])).unwrap();
        return;
    }
    assert_eq!(
        readme[start..end],
        table,
        "README.md's keymap differs from src/console/keymap.rs; run MANDATE_UPDATE_README=1 cargo test --test readme"
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
