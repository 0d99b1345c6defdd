//! The layers hold: no import cycle between the binary's top-level modules
//! (`src/<module>`). The crates' own layers (contract, SDK, binary) the
//! compiler keeps; this keeps the ones inside the binary, read from the
//! source as a newcomer would read it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a piece of code names as `crate::x` or inside
/// `crate::{x, y::z}`.
fn named(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let heads: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => {
                // Top-level items of the group, at depth 0.
                let (mut depth, mut start, mut heads) = (0usize, 0usize, Vec::new());
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            heads.push(&group[start..i]);
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            heads.push(&group[start..i]);
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                heads
            }
            None => vec![rest],
        };
        for head in heads {
            let name: String = head.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if modules.contains(&name) {
                found.insert(name);
            }
        }
    }
    found
}

/// The code a build of the library compiles: unit tests left out.
fn library_code(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod ").map_or(text, |at| &text[..at])
}

#[test]
fn top_level_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_stem()?.to_str()?.to_owned();
            (p.is_dir() || p.extension().is_some_and(|e| e == "rs")).then_some(name)
        })
        .filter(|name| name != "lib" && name != "main")
        .collect();
    assert!(modules.len() > 10 && modules.contains("desk") && modules.contains("store"), "{modules:?}");

    // module -> module it imports -> the files that do.
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut files = Vec::new();
    sources(&src, &mut files);
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative.components().next().unwrap().as_os_str().to_str().unwrap().trim_end_matches(".rs");
        if !modules.contains(top) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for to in named(library_code(&text), &modules).into_iter().filter(|m| m != top) {
            edges.entry(top.to_owned()).or_default().entry(to).or_default().insert(relative.display().to_string());
        }
    }

    // A depth-first search that reports the first cycle it meets.
    fn visit(
        at: &str,
        edges: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|p| p == at) {
            let mut cycle = path[start..].to_vec();
            cycle.push(at.to_owned());
            return Some(cycle);
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.to_owned());
        for next in edges.get(at).map(|e| e.keys().collect::<Vec<_>>()).unwrap_or_default() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(at.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for module in &modules {
        if let Some(cycle) = visit(module, &edges, &mut Vec::new(), &mut done) {
            let links: Vec<String> =
                cycle.windows(2).map(|w| format!("{} -> {} ({:?})", w[0], w[1], edges[&w[0]][&w[1]])).collect();
            panic!("an import cycle between top-level modules:\n{}", links.join("\n"));
        }
    }
}

#[test]
fn the_reader_finds_imports_in_groups_and_paths() {
    let modules: BTreeSet<String> = ["store", "paging", "api"].map(str::to_owned).into();
    let code = "use crate::{api::{A, B}, paging};\nfn f() { crate::store::x(); }\nlet s = \"crate::nothing\";";
    assert_eq!(named(code, &modules), modules);
    assert_eq!(library_code("a\n#[cfg(test)]\nmod tests { crate::store }"), "a\n");
}
