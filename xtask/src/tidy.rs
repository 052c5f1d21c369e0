//! Repository rules checked as ordinary tests (`cargo test -p xtask`).

use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(super::root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn members() -> Vec<String> {
    let manifest = read("Cargo.toml");
    let start = manifest.find("members = [").expect("workspace members");
    let list = &manifest[start + 11..];
    let list = &list[..list.find(']').expect("end of members")];
    list.split(',')
        .map(|m| m.trim().trim_matches('"').to_owned())
        .filter(|m| !m.is_empty())
        .collect()
}

/// A `[section]` of a crate's manifest, up to the next section.
fn manifest_section(krate: &str, section: &str) -> String {
    let manifest = read(&format!("{krate}/Cargo.toml"));
    let header = format!("\n[{section}]");
    let Some(start) = manifest.find(&header) else {
        return String::new();
    };
    let rest = &manifest[start + header.len()..];
    rest[..rest.find("\n[").unwrap_or(rest.len())].to_owned()
}

/// `[dependencies]` section of a crate's manifest (not dev-dependencies).
fn normal_dependencies(krate: &str) -> String {
    manifest_section(krate, "dependencies")
}

fn depends_on(deps: &str, name: &str) -> bool {
    deps.lines().any(|l| {
        l.trim_start().starts_with(&format!("{name} "))
            || l.trim_start().starts_with(&format!("{name}="))
            || l.trim_start().starts_with(&format!("{name}."))
    })
}

#[test]
fn dependency_arrows_point_down() {
    // ARCHITECTURE.md: types <- sign <- store <- client <- cli; mock uses types and sign only.
    let forbidden: &[(&str, &[&str])] = &[
        (
            "terra-types",
            &[
                "terra-sign",
                "terra-store",
                "terra-client",
                "terra-mock",
                "reqwest",
                "hyper",
                "http",
                "axum",
                "tokio",
            ],
        ),
        (
            "terra-sign",
            &[
                "terra-store",
                "terra-client",
                "terra-mock",
                "reqwest",
                "hyper",
                "http",
                "axum",
                "tokio",
            ],
        ),
        ("terra-store", &["terra-client", "terra-mock", "terra-cli"]),
        ("terra-client", &["terra-mock", "terra-cli"]),
        ("terra-mock", &["terra-client", "terra-store", "terra-cli"]),
        ("tests", &["terra-cli"]),
    ];
    for (krate, bad) in forbidden {
        if !Path::new(&super::root().join(krate)).exists() {
            continue;
        }
        let deps = normal_dependencies(krate);
        for b in *bad {
            assert!(
                !depends_on(&deps, b),
                "{krate} must not depend on {b} (see ARCHITECTURE.md)"
            );
        }
    }
}

/// `[dev-dependencies]` section of a crate's manifest.
fn dev_dependencies(krate: &str) -> String {
    manifest_section(krate, "dev-dependencies")
}

#[test]
fn tests_is_a_leaf_and_dev_dependencies_point_down_too() {
    for m in members() {
        let all = format!("{}\n{}", normal_dependencies(&m), dev_dependencies(&m));
        assert!(
            !depends_on(&all, "tests"),
            "{m} depends on the `tests` crate: move what it needs into a public API"
        );
    }
    // The emulator never leans on the client, not even in its own tests.
    let mock_dev = dev_dependencies("terra-mock");
    for b in ["terra-client", "terra-store", "terra-cli"] {
        assert!(
            !depends_on(&mock_dev, b),
            "terra-mock's tests must not use {b}"
        );
    }
    // Nothing below the client tests with the CLI.
    for krate in ["terra-types", "terra-sign", "terra-store", "terra-client"] {
        assert!(
            !depends_on(&dev_dependencies(krate), "terra-cli"),
            "{krate}'s tests must not use terra-cli"
        );
    }
}

#[test]
fn every_member_is_documented() {
    let readme = read("README.md");
    let arch = read("ARCHITECTURE.md");
    for m in members() {
        assert!(
            readme.contains(&format!("`{m}`")),
            "README.md does not mention `{m}`"
        );
        assert!(
            arch.contains(&format!("`{m}`")),
            "ARCHITECTURE.md does not mention `{m}`"
        );
    }
}

#[test]
fn members_use_workspace_lints_and_package() {
    for m in members() {
        let manifest = read(&format!("{m}/Cargo.toml"));
        assert!(
            manifest.contains("[lints]\nworkspace = true"),
            "{m}: add `[lints] workspace = true`"
        );
        assert!(
            manifest.contains("edition.workspace = true"),
            "{m}: use the workspace edition"
        );
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let ci = read(".ci/run");
    assert!(
        ci.contains("cargo xtask test"),
        ".ci/run must run `cargo xtask test`"
    );
    assert!(read("README.md").contains("cargo xtask test"));
}

#[test]
fn no_placeholders_in_sources() {
    let mut offenders = Vec::new();
    for m in members() {
        visit(&super::root().join(&m), &mut |path, text| {
            for (i, line) in text.lines().enumerate() {
                if ["todo!(", "unimplemented!(", "dbg!("]
                    .iter()
                    .any(|p| line.contains(p))
                    && !path.ends_with("tidy.rs")
                {
                    offenders.push(format!("{}:{}", path.display(), i + 1));
                }
            }
        });
    }
    assert!(offenders.is_empty(), "placeholders left in: {offenders:?}");
}

fn visit(dir: &Path, f: &mut dyn FnMut(&Path, &str)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if !p.ends_with("target") {
                visit(&p, f);
            }
        } else if p.extension().is_some_and(|x| x == "rs")
            && let Ok(text) = std::fs::read_to_string(&p)
        {
            f(&p, &text);
        }
    }
}

/// Lines of code: neither blank nor a `//` comment.
fn lines_of_code(text: &str) -> usize {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count()
}

/// The comment lines a file starts with.
fn first_comment(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .take_while(|l| l.starts_with("//") || l.starts_with("#!["))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Past this, a file holds more than one idea unless its first comment says why it is long.
const MAX_LINES_OF_CODE: usize = 700;

#[test]
fn no_source_file_is_past_700_lines_of_code_without_a_reason() {
    let mut offenders = Vec::new();
    for m in members() {
        visit(&super::root().join(&m), &mut |path, text| {
            let n = lines_of_code(text);
            if n > MAX_LINES_OF_CODE && !first_comment(text).contains("long because") {
                offenders.push(format!("{} ({n} lines of code)", path.display()));
            }
        });
    }
    assert!(
        offenders.is_empty(),
        "files past {MAX_LINES_OF_CODE} lines of code; split them along their seams, or say in \
         their first comment why the file is long (\"... is long because ...\"): {offenders:?}"
    );
}

/// Every source file under `dir` (relative to the workspace root), sorted.
fn source_files(dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let root = super::root();
    visit_all(&root.join(dir), &mut |p| {
        if p.extension().is_some_and(|x| x == "rs" || x == "html") {
            let rel = p.strip_prefix(&root).expect("under the root");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    });
    out.sort();
    out
}

fn visit_all(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            visit_all(&p, f);
        } else {
            f(&p);
        }
    }
}

#[test]
fn architecture_names_every_source_file_and_only_those() {
    let arch = read("ARCHITECTURE.md");
    let named: Vec<&str> = arch
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.contains("/src/")
                && (s.ends_with(".rs") || s.ends_with(".html") || s.ends_with('/'))
                && !s.contains(' ')
        })
        .collect();
    let missing: Vec<&&str> = named
        .iter()
        .filter(|n| !super::root().join(n).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names files that do not exist: {missing:?}"
    );
    let mut unnamed = Vec::new();
    for m in members() {
        for f in source_files(&format!("{m}/src")) {
            if !named.iter().any(|n| *n == f) {
                unnamed.push(f);
            }
        }
    }
    assert!(
        unnamed.is_empty(),
        "source files ARCHITECTURE.md does not name (give each a line under Rooms): {unnamed:?}"
    );
}

/// The code blocks of `lang` in the README section titled `section`.
fn readme_blocks(section: &str, lang: &str) -> Vec<String> {
    let readme = read("README.md");
    let start = readme
        .find(section)
        .unwrap_or_else(|| panic!("README.md has no section {section:?}"));
    let body = &readme[start + section.len()..];
    let body = &body[..body.find("\n### ").unwrap_or(body.len())];
    let fence = format!("```{lang}\n");
    body.split(&fence)
        .skip(1)
        .map(|b| b[..b.find("```").unwrap_or(b.len())].to_owned())
        .collect()
}

#[test]
fn the_readme_package_examples_are_the_tested_ones() {
    // The five lines a user copies from the README run in the package suites, verbatim.
    let section = "### Using terra-mock from any language";
    for (lang, suite) in [
        ("python", "packaging/python/tests/test_package.py"),
        ("js", "packaging/npm/tests/package.test.cjs"),
    ] {
        let blocks = readme_blocks(section, lang);
        assert!(
            !blocks.is_empty(),
            "README.md: no {lang} example in {section:?}"
        );
        let tested = read(suite);
        for block in blocks {
            // Each line in the same order in the suite, indented however the test needs.
            let mut rest = tested.as_str();
            for line in block.lines().filter(|l| !l.trim().is_empty()) {
                let at = rest.find(line.trim()).unwrap_or_else(|| {
                    panic!("README.md's {lang} example line {line:?} is not (in order) in {suite}")
                });
                rest = &rest[at + line.trim().len()..];
            }
        }
    }
}
