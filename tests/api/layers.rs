//! The layers of `src/` stay as `src/lib.rs` draws them: each layer uses only the layers
//! listed before it, and the endpoint modules under `handlers/` import only the prelude.
//! The order is read from the list in `lib.rs`, so the drawing and the rule are one.
//! Within a layer, the modules (one per file) use each other without a circle: the graph
//! of the paths between them (through `crate::`, `super::`, `self::` or a child module's
//! name) has no cycle, not even between a module and its own children.

use std::collections::{BTreeMap, BTreeSet, HashMap};
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

/// `code` without its test modules (a `#[cfg(test)]` followed by `mod … {`, to the
/// closing brace): their `super::` is the module itself.
fn without_test_modules(code: &str) -> String {
    let mut kept = Vec::new();
    let mut lines = code.lines().peekable();
    while let Some(line) = lines.next() {
        let opens_test_module = line.trim() == "#[cfg(test)]"
            && lines.peek().is_some_and(|next| {
                let next = next.trim_start();
                next.starts_with("mod ") && next.trim_end().ends_with('{')
            });
        if !opens_test_module {
            kept.push(line);
            continue;
        }
        let mut depth = 0;
        for line in lines.by_ref() {
            depth += line.matches('{').count() as i64 - line.matches('}').count() as i64;
            if depth <= 0 {
                break;
            }
        }
    }
    kept.join("\n")
}

/// The paths of a use tree written after `crate::` or `super::`, each as its segments:
/// `a::{b, c::{d, self}}` is `a::b`, `a::c::d` and `a::c`.
fn use_tree_paths(tree: &str) -> Vec<Vec<String>> {
    let head_len = tree
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(tree.len());
    let head: Vec<String> = tree[..head_len]
        .split("::")
        .filter(|segment| !segment.is_empty() && *segment != "self")
        .map(str::to_owned)
        .collect();
    let Some(group) = tree[head_len..].strip_prefix('{') else {
        return vec![head];
    };
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (index, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..index]);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    items
        .into_iter()
        .map(|item| item.split_whitespace().collect::<String>())
        .filter(|item| !item.is_empty())
        .flat_map(|item| use_tree_paths(&item))
        .map(|tail| head.iter().cloned().chain(tail).collect())
        .collect()
}

/// The modules `code` declares with `mod name;` (its child modules in files of their own).
fn child_modules(code: &str) -> Vec<&str> {
    code.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = match line.strip_prefix("pub") {
                Some(rest) if rest.starts_with('(') => &rest[rest.find(')')? + 1..],
                Some(rest) => rest,
                None => line,
            };
            line.trim_start()
                .strip_prefix("mod ")?
                .trim()
                .strip_suffix(';')
        })
        .collect()
}

/// The crate-relative paths `code`, the code of module `own`, names through `crate::`,
/// `super::`, `self::` or the name of one of its child modules (not inside a macro's
/// `$crate::`).
fn used_paths(own: &[String], code: &str) -> Vec<Vec<String>> {
    let children = child_modules(code);
    let mut used = Vec::new();
    // The end of the last path read: the `::` within it are not the start of another.
    let mut read_to = 0;
    for (at, _) in code.match_indices("::") {
        if at < read_to {
            continue;
        }
        let before = &code[..at];
        let word_start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |index| index + 1);
        let word = &before[word_start..];
        let preceded = before[..word_start].chars().next_back();
        if preceded.is_some_and(|c| c == '$' || c == ':') {
            continue;
        }
        let mut base: Vec<String> = match word {
            "crate" => Vec::new(),
            "super" => own[..own.len().saturating_sub(1)].to_vec(),
            "self" => own.to_vec(),
            child if children.contains(&child) => {
                own.iter().cloned().chain([child.to_owned()]).collect()
            }
            _ => continue,
        };
        let mut rest = &code[at + 2..];
        while let Some(after) = rest.strip_prefix("super::") {
            base.pop();
            rest = after;
        }
        read_to = code.len() - rest.len() + use_tree_len(rest);
        for path in use_tree_paths(rest) {
            used.push(base.iter().cloned().chain(path).collect());
        }
    }
    used
}

/// How long the use tree (or path) at the start of `tree` is: its head, and the group
/// that follows it to its closing brace.
fn use_tree_len(tree: &str) -> usize {
    let head_len = tree
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(tree.len());
    if !tree[head_len..].starts_with('{') {
        return head_len;
    }
    let mut depth = 0;
    for (index, c) in tree[head_len..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return head_len + index + 1;
                }
            }
            _ => {}
        }
    }
    tree.len()
}

/// The module a source file is: its path from `src/` (or `handlers/`, as `handlers`).
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(root).unwrap();
    let mut parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if parts[0] == "src" {
        parts.remove(0);
    }
    if parts
        .last()
        .is_some_and(|last| last == "mod" || last == "lib")
    {
        parts.pop();
    }
    parts
}

/// A cycle of the graph `uses`, if there is one, as the modules along it.
fn find_cycle(uses: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        module: &Vec<String>,
        uses: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        done: &mut BTreeSet<Vec<String>>,
        path: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|on_path| on_path == module) {
            let mut cycle: Vec<String> = path[at..].iter().map(|m| m.join("::")).collect();
            cycle.push(module.join("::"));
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.clone());
        for used in uses.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(used, uses, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.clone());
        None
    }
    let mut done = BTreeSet::new();
    uses.keys()
        .find_map(|module| visit(module, uses, &mut done, &mut Vec::new()))
}

/// The graph of the crate's modules: which module's code names which other module.
fn module_graph(root: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut files = sources(&root.join("src"));
    files.extend(sources(&root.join("handlers")));
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .into_iter()
        .filter(|file| !file.ends_with("src/main.rs"))
        .map(|file| (module_of(root, &file), file))
        .collect();
    let mut uses = BTreeMap::new();
    for (module, file) in &modules {
        let code = without_test_modules(&without_comments(&std::fs::read_to_string(file).unwrap()));
        let used: BTreeSet<Vec<String>> = used_paths(module, &code)
            .into_iter()
            .filter_map(|path| {
                (1..=path.len())
                    .rev()
                    .map(|length| path[..length].to_vec())
                    .find(|prefix| modules.contains_key(prefix))
            })
            .filter(|used| used != module)
            .collect();
        uses.insert(module.clone(), used);
    }
    uses
}

#[test]
fn no_circle_among_the_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let uses = module_graph(root);
    assert!(
        uses.len() > 100 && uses.values().map(BTreeSet::len).sum::<usize>() > 300,
        "the scan finds the modules and their uses"
    );
    if let Some(cycle) = find_cycle(&uses) {
        panic!("modules use each other in a circle: {}", cycle.join(" → "));
    }
}

#[test]
fn the_module_scan_resolves_groups_super_and_finds_circles() {
    let own = ["http".to_owned(), "server".to_owned()];
    let code = "mod state;\npub(crate) mod settings;\nuse super::{state::ServerState, settings::{A, B}};\nuse crate::app::{self, x};\nsuper::super::error::f();\n$crate::cli::main();\nuse self::state::S;\nlet s = settings::read();\nlet t = other::f();";
    let paths: Vec<String> = used_paths(&own, code)
        .iter()
        .map(|path| path.join("::"))
        .collect();
    assert_eq!(
        paths,
        [
            "http::state::ServerState",
            "http::settings::A",
            "http::settings::B",
            "app",
            "app::x",
            "error::f",
            "http::server::state::S",
            "http::server::settings::read"
        ]
    );
    assert_eq!(
        without_test_modules(
            "a\n#[cfg(test)]\nmod tests {\n    use super::*;\n    fn f() {}\n}\nb"
        ),
        "a\nb"
    );
    let module = |name: &str| vec![name.to_owned()];
    let mut uses = BTreeMap::new();
    uses.insert(module("a"), BTreeSet::from([module("b")]));
    uses.insert(module("b"), BTreeSet::from([module("c")]));
    uses.insert(module("c"), BTreeSet::new());
    assert_eq!(find_cycle(&uses), None);
    uses.get_mut(&module("c")).unwrap().insert(module("a"));
    assert_eq!(
        find_cycle(&uses).map(|cycle| cycle.join(" ")),
        Some("a b c a".to_owned())
    );
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
