//! The layers of `src/` stay as `src/lib.rs` draws them: each layer uses only the layers
//! listed before it, and the endpoint modules under `handlers/` import only the prelude.
//! The order is read from the list in `lib.rs`, so the drawing and the rule are one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The top-level modules in the order `lib.rs` lists them.
fn layer_order(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|line| line.strip_prefix("//! - [`"))
        .filter_map(|rest| rest.split_once('`').map(|(name, _)| name.to_owned()))
        .collect()
}

/// The `.rs` files under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
    found
}

/// The code of `source` without comments (a `//` and what follows it on its line).
fn without_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules `code` names through `crate::` (also inside `crate::{…}`).
fn used_modules(code: &str) -> Vec<String> {
    let identifier = |text: &str| -> String {
        text.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut used = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let macro_path = rest[..at].ends_with('$');
        rest = &rest[at + "crate::".len()..];
        if macro_path {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // The paths of the group at its own depth: `a::b, c::{d, e}, f`.
            let mut depth = 0;
            let mut start = 0;
            for (index, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        used.push(identifier(&group[start..index]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        used.push(identifier(&group[start..index]));
                        start = index + 1;
                    }
                    _ => {}
                }
            }
        } else {
            used.push(identifier(rest));
        }
    }
    used.retain(|name| !name.is_empty());
    used
}

/// The top-level module a file under the repository belongs to.
fn layer_of(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap();
    let mut parts = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned());
    match parts.next().as_deref() {
        Some("handlers") => "handlers".to_owned(),
        _ => parts.next().unwrap().trim_end_matches(".rs").to_owned(),
    }
}

#[test]
fn no_module_uses_a_layer_listed_after_its_own_and_handlers_use_only_the_prelude() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let order = layer_order(&lib);
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(index, name)| (name.as_str(), index))
        .collect();
    for declared in lib.lines().filter_map(|line| line.strip_prefix("pub mod ")) {
        let name = declared.trim_end_matches(';');
        assert!(
            rank.contains_key(name),
            "module {name} is not in lib.rs's list of layers"
        );
    }
    let mut climbing = Vec::new();
    let mut files = sources(&root.join("src"));
    files.extend(sources(&root.join("handlers")));
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy();
        if file.parent() == Some(&root.join("src")) && (name == "lib.rs" || name == "main.rs") {
            continue;
        }
        let own = layer_of(root, &file);
        let code = without_comments(&std::fs::read_to_string(&file).unwrap());
        let shown = file.strip_prefix(root).unwrap().display().to_string();
        if own == "handlers" {
            let mut rest = code.as_str();
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at..];
                if !rest.starts_with("crate::api::prelude") {
                    let path: String = rest.chars().take(60).collect();
                    climbing.push(format!("{shown}: a handler uses {path}"));
                }
                rest = &rest["crate::".len()..];
            }
            continue;
        }
        let own_rank = rank[own.as_str()];
        for used in used_modules(&code) {
            if rank
                .get(used.as_str())
                .is_some_and(|&used_rank| used_rank > own_rank)
            {
                climbing.push(format!("{shown}: {own} uses {used}, listed after it"));
            }
        }
    }
    climbing.sort();
    climbing.dedup();
    assert!(climbing.is_empty(), "{}", climbing.join("\n"));
}

#[test]
fn the_scan_reads_grouped_paths_and_ignores_macro_paths() {
    let code = "use crate::{api::x, push::{a, b}, store};\nlet y = $crate::cli::main();\ncrate::domain::f();";
    assert_eq!(used_modules(code), ["api", "push", "store", "domain"]);
    assert_eq!(
        layer_order("//! - [`error`]: e.\n//!   more\n//! - [`domain`]: d."),
        ["error", "domain"]
    );
    assert_eq!(without_comments("a // crate::cli\nb"), "a \nb");
}
