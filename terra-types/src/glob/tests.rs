//! The glob engine against a recursive reference matcher (property tests), its rules
//! case by case, its refusals and its time on adversarial inputs.

use super::*;
use proptest::prelude::*;

/// A different matcher: recursive, segment by segment, character by character. Slow
/// (exponential on `**` chains) but evidently right.
fn reference(pattern: &str, text: &str) -> bool {
    fn segs(p: &[&str], s: &[&str]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((&"**", rest)) => (0..=s.len()).any(|k| segs(rest, &s[k..])),
            Some((first, rest)) => s.split_first().is_some_and(|(h, t)| {
                seg(&chars(first), &h.chars().collect::<Vec<_>>()) && segs(rest, t)
            }),
        }
    }
    #[derive(Debug, Clone)]
    enum A {
        Lit(char),
        Any,
        Star,
        Set(Vec<char>, bool),
    }
    fn chars(p: &str) -> Vec<A> {
        let c: Vec<char> = p.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < c.len() {
            match c[i] {
                '*' => out.push(A::Star),
                '?' => out.push(A::Any),
                '\\' => {
                    i += 1;
                    out.push(A::Lit(c[i]));
                }
                '[' => {
                    let close = (i + 2..c.len()).find(|&j| c[j] == ']').unwrap();
                    let mut body: Vec<char> = c[i + 1..close].to_vec();
                    let neg = matches!(body.first(), Some('!' | '^'));
                    if neg {
                        body.remove(0);
                    }
                    let mut set = Vec::new();
                    let mut k = 0;
                    while k < body.len() {
                        if k + 2 < body.len() && body[k + 1] == '-' {
                            let (lo, hi) = (body[k].min(body[k + 2]), body[k].max(body[k + 2]));
                            set.extend(lo..=hi);
                            k += 3;
                        } else {
                            set.push(body[k]);
                            k += 1;
                        }
                    }
                    out.push(A::Set(set, neg));
                    i = close;
                }
                x => out.push(A::Lit(x)),
            }
            i += 1;
        }
        out
    }
    fn seg(p: &[A], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((A::Star, rest)) => (0..=s.len()).any(|k| seg(rest, &s[k..])),
            Some((a, rest)) => s.split_first().is_some_and(|(c, t)| {
                (match a {
                    A::Lit(x) => x == c,
                    A::Any => true,
                    A::Set(set, neg) => set.contains(c) != *neg,
                    A::Star => unreachable!(),
                }) && seg(rest, t)
            }),
        }
    }
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = text.split('/').collect();
    segs(&p, &s)
}

#[test]
fn the_rules() {
    for (p, t, m) in [
        ("map/*.tif", "map/result.tif", true),
        ("map/*.tif", "map/sub/result.tif", false),
        ("*.tif", "map/result.tif", false),
        ("**/*.tif", "map/result.tif", true),
        ("**/*.tif", "result.tif", true),
        ("**", "a/b/c", true),
        ("**", "", true),
        ("models/**/Block.obj", "models/mesh/obj/Block.obj", true),
        ("models/**/Block.obj", "models/Block.obj", true),
        ("models/**/Block.obj", "models/xBlock.obj", false),
        ("models/**", "models", true),
        ("models/**", "map/result.tif", false),
        ("?.las", "a.las", true),
        ("?.las", "ab.las", false),
        ("?.las", "é.las", true),
        ("??.las", "é.las", false),
        ("[!a].las", "图.las", true),
        ("[!a].las", "a.las", false),
        ("[a-c]x", "bx", true),
        ("[a-c]x", "dx", false),
        ("[]]", "]", true),
        ("a\\*", "a*", true),
        ("a\\*", "ab", false),
        ("a**b", "axxb", true),
        ("a**b", "ax/xb", false),
        ("**/**/x", "x", true),
        ("a/**/**/b", "a/b", true),
        ("**/*x", "p/q/yx", true),
        ("**/*x/c", "p/yx/c", true),
        ("**/*x/c", "p/yx/d", false),
        ("a/**/*.jpg", "a/x/y/z.jpg", true),
        ("a/**/*.jpg", "a/x/y.jpg/z", false),
        ("", "", true),
        ("", "a", false),
    ] {
        assert_eq!(Glob::new(p).unwrap().matches(t), m, "{p:?} vs {t:?}");
        assert_eq!(reference(p, t), m, "the reference: {p:?} vs {t:?}");
    }
}

#[test]
fn refusals_say_what_to_do() {
    for (p, needle) in [("a[bc", "not closed"), ("[é]", "ASCII"), ("ab\\", "lone")] {
        let e = Glob::new(p).unwrap_err().to_string();
        assert!(e.contains(needle), "{p}: {e}");
    }
    assert!(Glob::new(&"x".repeat(MAX_PATTERN_LEN)).is_ok());
    assert!(matches!(
        Glob::new(&"x".repeat(MAX_PATTERN_LEN + 1)),
        Err(GlobError::TooLong { len: 1025, .. })
    ));
}

/// Patterns of several words: the carries between words, forward and back.
#[test]
fn long_patterns_cross_word_boundaries() {
    let lit = "abcdefghij".repeat(20);
    let g = Glob::new(&format!("{lit}/**/{lit}*/x")).unwrap();
    assert!(g.words() > 4);
    assert!(g.matches(&format!("{lit}/{lit}zz/x")));
    assert!(g.matches(&format!("{lit}/q/r/{lit}/x")));
    assert!(!g.matches(&format!("{lit}/q/r/{lit}/y")));
    let deep = Glob::new(&"**/a/".repeat(100)).unwrap();
    assert!(deep.words() > 4);
    assert!(deep.matches(&"x/a/".repeat(100)));
    assert!(!deep.matches(&"x/a/".repeat(99)));
}

/// What stalled the old recursive matcher: chains of `**` and of `*`, against long
/// paths. The automaton's work is bounded by its size, whatever the input.
#[test]
fn adversarial_inputs_finish_in_bounded_time() {
    let started = std::time::Instant::now();
    let texts = ["a/".repeat(30_000) + "b", "a".repeat(60_000)];
    for p in [
        "**/".repeat(300) + "x",
        "*a*".repeat(300) + "/x",
        "a*/".repeat(300) + "x",
        "?*".repeat(500) + "x",
        "**/a/".repeat(200) + "x",
    ] {
        let g = Glob::new(&p).unwrap();
        assert!(g.words() <= 2 * MAX_PATTERN_LEN / 64 + 1);
        for t in &texts {
            assert!(!g.matches(t), "{p}");
        }
    }
    // Generous for a debug build on a loaded machine: the recursive matcher took
    // minutes on the first of these.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

proptest! {
    #[test]
    fn agrees_with_the_reference(
        pat in proptest::collection::vec(
            proptest::sample::select(vec!["a", "b", "ab", "*", "a*", "*b", "**", "?", "[ab]", "[!a]", "é", "", "a?b"]),
            1..6,
        ),
        text in proptest::collection::vec(
            proptest::sample::select(vec!["a", "b", "ab", "ba", "abb", "", "é", "aéb", "图"]),
            1..7,
        ),
    ) {
        let (pat, text) = (pat.join("/"), text.join("/"));
        prop_assert_eq!(Glob::new(&pat).unwrap().matches(&text), reference(&pat, &text), "{} vs {}", pat, text);
    }

    #[test]
    fn arbitrary_patterns_never_panic(p in "[ab*?/\\[\\]!\\\\-]{0,40}", t in "[ab/]{0,40}") {
        if let Ok(g) = Glob::new(&p) {
            let _ = g.matches(&t);
        }
    }
}
