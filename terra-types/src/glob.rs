//! Path globs, compiled once and matched in time linear in the text: the one pattern rule
//! of the workspace (the emulator's fault rules, the client's download filters).
//!
//! Syntax, on `/`-separated paths:
//!
//! - `*` matches any run of characters within one segment (never `/`);
//! - `?` one character other than `/`;
//! - `[abc]`, `[a-z]`, `[!a-z]` (or `[^a-z]`) one character of (or not of) an ASCII set,
//!   never `/`;
//! - `**` as a whole segment matches any number of segments, none included
//!   (`a/**/b` matches `a/b` and `a/x/y/b`; `a/**` matches `a` and everything under it);
//!   `**` inside a segment is `*`;
//! - `\` makes the next character literal (`\*`, `\[`).
//!
//! The pattern is compiled into a bit-parallel automaton (a state per position of the
//! pattern, one bit each): matching reads every byte of the text once and does a fixed
//! number of word operations per byte, at most `4 × ⌈states / 64⌉`. There is no recursion
//! and no backtracking, so no pattern and no text can make a match take more than that;
//! patterns longer than [`MAX_PATTERN_LEN`] bytes are refused.
//!
//! ```
//! use terra_types::glob::Glob;
//! let g = Glob::new("models/**/*.obj")?;
//! assert!(g.matches("models/mesh/obj/Block.obj"));
//! assert!(g.matches("models/Block.obj"));
//! assert!(!g.matches("models/mesh/obj/Block.mtl"));
//! assert!(!Glob::new("*.obj")?.matches("models/Block.obj"), "`*` stays within a segment");
//! # Ok::<(), terra_types::glob::GlobError>(())
//! ```

use std::collections::HashMap;

/// The longest pattern [`Glob::new`] accepts, in bytes.
pub const MAX_PATTERN_LEN: usize = 1024;

/// Why a pattern was refused.
///
/// ```
/// use terra_types::glob::{Glob, GlobError};
/// let err = Glob::new(&"**/".repeat(2000)).unwrap_err();
/// assert!(matches!(err, GlobError::TooLong { .. }));
/// assert!(err.to_string().contains("at most 1024 bytes"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GlobError {
    /// The pattern is longer than [`MAX_PATTERN_LEN`].
    #[error(
        "a glob pattern of {len} bytes was refused: patterns are at most {max} bytes \
         (a `**` segment already spans any number of folders)"
    )]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A `[` without its `]` in the same segment.
    #[error(
        "glob pattern {pattern:?}: the `[` at byte {at} is not closed by a `]` in the same \
         segment (write `\\[` for a literal bracket)"
    )]
    UnclosedClass {
        /// The pattern.
        pattern: String,
        /// Byte offset of the `[`.
        at: usize,
    },
    /// A non-ASCII character inside `[...]`.
    #[error(
        "glob pattern {pattern:?}: `[...]` sets hold ASCII characters only (use `?` for any \
         one character)"
    )]
    NonAsciiClass {
        /// The pattern.
        pattern: String,
    },
    /// The pattern ends with a lone `\`.
    #[error("glob pattern {pattern:?} ends with a lone `\\`: escape it as `\\\\`")]
    TrailingEscape {
        /// The pattern.
        pattern: String,
    },
}

/// A set of bytes.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Bytes([u64; 4]);

impl Bytes {
    fn one(b: u8) -> Self {
        let mut s = Self::default();
        s.insert(b);
        s
    }
    fn all() -> Self {
        Self([u64::MAX; 4])
    }
    fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }
    fn remove(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] &= !(1 << (b & 63));
    }
    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }
    fn union(self, o: Self) -> Self {
        Self([
            self.0[0] | o.0[0],
            self.0[1] | o.0[1],
            self.0[2] | o.0[2],
            self.0[3] | o.0[3],
        ])
    }
    /// Every byte but `/`.
    fn not_slash() -> Self {
        let mut s = Self::all();
        s.remove(b'/');
        s
    }
    /// UTF-8 continuation bytes.
    fn continuation() -> Self {
        let mut s = Self::default();
        for b in 0x80..=0xBF {
            s.insert(b);
        }
        s
    }
    /// Bytes that start a character other than `/`.
    fn char_start_not_slash() -> Self {
        let mut s = Self::not_slash();
        for b in 0x80..=0xBF {
            s.remove(b);
        }
        s
    }
}

/// The transitions out of one state, by the bytes that take them.
#[derive(Clone, Copy, Default)]
struct State {
    /// To the next state.
    fwd1: Bytes,
    /// To the state after the next (past a `**` group's inner state).
    fwd2: Bytes,
    /// Staying here.
    stay: Bytes,
    /// Back to the previous state (the end of a segment inside a `**` group).
    back1: Bytes,
    accept: bool,
}

/// One element of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Atom {
    /// These bytes, one of them (a literal byte or an ASCII set).
    Set(Bytes),
    /// One character not in this ASCII set and not `/` (`?` is the empty set).
    NotIn(Bytes),
    /// `*`.
    Star,
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:x?}", self.0)
    }
}

/// A compiled glob (see the [module documentation](self) for its syntax).
///
/// ```
/// use terra_types::glob::Glob;
/// let g = Glob::new("map/result.[tj]?[fg]")?;
/// assert!(g.matches("map/result.tif") && g.matches("map/result.jpg"));
/// assert_eq!(g.as_str(), "map/result.[tj]?[fg]");
/// # Ok::<(), terra_types::glob::GlobError>(())
/// ```
#[derive(Clone)]
pub struct Glob {
    pattern: Box<str>,
    /// 64-bit words per state set.
    words: usize,
    /// The class of every byte value.
    class: [u8; 256],
    /// Per class, four masks of `words` words each: fwd1, fwd2, stay, back1.
    masks: Box<[u64]>,
    accept: Box<[u64]>,
}

impl std::fmt::Debug for Glob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Glob").field(&self.pattern).finish()
    }
}

impl PartialEq for Glob {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for Glob {}

/// The atoms of one segment.
fn atoms(pattern: &str, seg: &str, offset: usize) -> Result<Vec<Atom>, GlobError> {
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'*' => {
                if out.last() != Some(&Atom::Star) {
                    out.push(Atom::Star);
                }
                i += 1;
            }
            b'?' => {
                out.push(Atom::NotIn(Bytes::default()));
                i += 1;
            }
            b'\\' => {
                let Some(&c) = b.get(i + 1) else {
                    return Err(GlobError::TrailingEscape {
                        pattern: pattern.to_owned(),
                    });
                };
                out.push(Atom::Set(Bytes::one(c)));
                i += 2;
            }
            b'[' => {
                let (atom, len) = class(pattern, &b[i..], offset + i)?;
                out.push(atom);
                i += len;
            }
            c => {
                out.push(Atom::Set(Bytes::one(c)));
                i += 1;
            }
        }
    }
    Ok(out)
}

/// A `[...]` set at the start of `b`; returns it and its length in bytes.
fn class(pattern: &str, b: &[u8], at: usize) -> Result<(Atom, usize), GlobError> {
    let unclosed = || GlobError::UnclosedClass {
        pattern: pattern.to_owned(),
        at,
    };
    let mut i = 1;
    let negated = matches!(b.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut set = Bytes::default();
    let mut first = true;
    loop {
        let c = *b.get(i).ok_or_else(unclosed)?;
        if c == b']' && !first {
            i += 1;
            break;
        }
        first = false;
        let c = if c == b'\\' {
            i += 1;
            *b.get(i).ok_or_else(unclosed)?
        } else {
            c
        };
        if !c.is_ascii() {
            return Err(GlobError::NonAsciiClass {
                pattern: pattern.to_owned(),
            });
        }
        i += 1;
        // A range `c-d` (a `-` first or last is itself).
        if b.get(i) == Some(&b'-') && b.get(i + 1).is_some_and(|&d| d != b']') {
            let mut d = b[i + 1];
            i += 2;
            if d == b'\\' {
                d = *b.get(i).ok_or_else(unclosed)?;
                i += 1;
            }
            if !d.is_ascii() {
                return Err(GlobError::NonAsciiClass {
                    pattern: pattern.to_owned(),
                });
            }
            for x in c.min(d)..=c.max(d) {
                set.insert(x);
            }
        } else {
            set.insert(c);
        }
    }
    set.remove(b'/');
    Ok((
        if negated {
            Atom::NotIn(set)
        } else {
            Atom::Set(set)
        },
        i,
    ))
}

/// Builds the automaton's states, one position after another.
#[derive(Default)]
struct Builder {
    states: Vec<State>,
    /// The current state is a `**` group's entry: its inner state follows it, so what
    /// the pattern consumes next leaves by `fwd2`.
    group: bool,
}

impl Builder {
    fn cur(&mut self) -> &mut State {
        self.states.last_mut().expect("a state")
    }

    /// The current state, for the `group` entry, or the one before it otherwise.
    fn at(&mut self) -> &mut State {
        let i = self.states.len() - 1 - usize::from(self.group);
        &mut self.states[i]
    }

    /// Consumes one byte of `set` into a new state.
    fn consume(&mut self, set: Bytes) {
        if self.group {
            self.at().fwd2 = self.at().fwd2.union(set);
        } else {
            self.cur().fwd1 = self.cur().fwd1.union(set);
        }
        self.group = false;
        self.states.push(State::default());
    }

    fn stay(&mut self, set: Bytes) {
        let s = self.at();
        s.stay = s.stay.union(set);
    }

    fn atom(&mut self, a: Atom) {
        match a {
            Atom::Set(s) => self.consume(s),
            Atom::NotIn(s) => {
                // One character: a first byte, then its continuation bytes.
                let mut first = Bytes::char_start_not_slash();
                for b in 0..128u8 {
                    if s.contains(b) {
                        first.remove(b);
                    }
                }
                self.consume(first);
                self.stay(Bytes::continuation());
            }
            Atom::Star => {
                if self.group {
                    // `(.*/)?` then `[^/]*` is `.*`.
                    self.stay(Bytes::all());
                } else {
                    self.stay(Bytes::not_slash());
                }
            }
        }
    }

    /// A `**` group (`(.*/)?`) at the current state: an entry that stays on `/` and an
    /// inner state for the segments it spans.
    fn open_group(&mut self) {
        let inner = {
            let g = self.cur();
            g.fwd1 = g.fwd1.union(Bytes::not_slash());
            g.stay = g.stay.union(Bytes::one(b'/'));
            State {
                stay: Bytes::not_slash(),
                back1: Bytes::one(b'/'),
                ..State::default()
            }
        };
        self.states.push(inner);
        self.group = true;
    }
}

impl Glob {
    /// Compiles `pattern`.
    ///
    /// ```
    /// use terra_types::glob::Glob;
    /// assert!(Glob::new("/terra-rescon-be/**/start")?.matches("/terra-rescon-be/v2/jobs/x/start"));
    /// assert!(Glob::new("a[").is_err());
    /// # Ok::<(), terra_types::glob::GlobError>(())
    /// ```
    pub fn new(pattern: &str) -> Result<Self, GlobError> {
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(GlobError::TooLong {
                len: pattern.len(),
                max: MAX_PATTERN_LEN,
            });
        }
        // Segments, with runs of `**` segments as one.
        let mut segs: Vec<(usize, &str)> = Vec::new();
        let mut offset = 0;
        for s in pattern.split('/') {
            if !(s == "**" && segs.last().is_some_and(|(_, l)| *l == "**")) {
                segs.push((offset, s));
            }
            offset += s.len() + 1;
        }
        let mut b = Builder {
            states: vec![State::default()],
            group: false,
        };
        let n = segs.len();
        for (i, &(offset, seg)) in segs.iter().enumerate() {
            if seg == "**" {
                match (i == 0, i + 1 == n) {
                    (true, true) => b.stay(Bytes::all()),
                    (true, false) => b.open_group(),
                    (false, true) => {
                        // `(/.*)?`: what came before is a match, and so is anything
                        // under it.
                        b.at().accept = true;
                        b.consume(Bytes::one(b'/'));
                        b.stay(Bytes::all());
                    }
                    (false, false) => {
                        b.consume(Bytes::one(b'/'));
                        b.open_group();
                    }
                }
                continue;
            }
            // The `/` before this segment, unless the `**` group before it took it.
            if i > 0 && segs[i - 1].1 != "**" {
                b.consume(Bytes::one(b'/'));
            }
            for a in atoms(pattern, seg, offset)? {
                b.atom(a);
            }
        }
        b.at().accept = true;
        Ok(Self::bake(pattern, &b.states))
    }

    /// Turns the states into masks per class of bytes.
    fn bake(pattern: &str, states: &[State]) -> Self {
        let words = states.len().div_ceil(64);
        let mut class = [0u8; 256];
        let mut masks: Vec<u64> = Vec::new();
        let mut seen: HashMap<Vec<u64>, u8> = HashMap::new();
        let mut sig = vec![0u64; 4 * words];
        for byte in 0..=255u8 {
            sig.fill(0);
            for (i, s) in states.iter().enumerate() {
                let bit = 1u64 << (i % 64);
                let w = i / 64;
                for (k, set) in [s.fwd1, s.fwd2, s.stay, s.back1].iter().enumerate() {
                    if set.contains(byte) {
                        sig[k * words + w] |= bit;
                    }
                }
            }
            let next = seen.len();
            let id = *seen.entry(sig.clone()).or_insert_with(|| {
                masks.extend_from_slice(&sig);
                // At most 256 classes: one per byte value.
                next as u8
            });
            class[usize::from(byte)] = id;
        }
        let mut accept = vec![0u64; words];
        for (i, s) in states.iter().enumerate() {
            if s.accept {
                accept[i / 64] |= 1 << (i % 64);
            }
        }
        Self {
            pattern: pattern.into(),
            words,
            class,
            masks: masks.into_boxed_slice(),
            accept: accept.into_boxed_slice(),
        }
    }

    /// The pattern, as given.
    ///
    /// ```
    /// assert_eq!(terra_types::glob::Glob::new("**/*.las")?.as_str(), "**/*.las");
    /// # Ok::<(), terra_types::glob::GlobError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the whole of `text` matches.
    ///
    /// ```
    /// use terra_types::glob::Glob;
    /// let g = Glob::new("lidars/**")?;
    /// assert!(g.matches("lidars") && g.matches("lidars/terra_las/cloud.las"));
    /// assert!(!g.matches("lidarsx/cloud.las"));
    /// # Ok::<(), terra_types::glob::GlobError>(())
    /// ```
    pub fn matches(&self, text: &str) -> bool {
        let w = self.words;
        if w == 1 {
            return self.matches_one_word(text.as_bytes());
        }
        let mut cur = vec![0u64; w];
        let mut next = vec![0u64; w];
        cur[0] = 1;
        for &byte in text.as_bytes() {
            let base = usize::from(self.class[usize::from(byte)]) * 4 * w;
            let m = &self.masks[base..base + 4 * w];
            let (fwd1, rest) = m.split_at(w);
            let (fwd2, rest) = rest.split_at(w);
            let (stay, back1) = rest.split_at(w);
            let (mut c1, mut c2) = (0u64, 0u64);
            let mut any = 0u64;
            for i in 0..w {
                let a = cur[i] & fwd1[i];
                let b = cur[i] & fwd2[i];
                let d = cur[i] & back1[i];
                let mut v = (a << 1) | c1 | (b << 2) | c2 | (cur[i] & stay[i]) | (d >> 1);
                if i + 1 < w {
                    v |= (cur[i + 1] & back1[i + 1]) << 63;
                }
                c1 = a >> 63;
                c2 = b >> 62;
                next[i] = v;
                any |= v;
            }
            if any == 0 {
                return false;
            }
            std::mem::swap(&mut cur, &mut next);
        }
        cur.iter().zip(self.accept.iter()).any(|(c, a)| c & a != 0)
    }

    /// [`Glob::matches`] for patterns of at most 64 states, in registers.
    fn matches_one_word(&self, text: &[u8]) -> bool {
        let mut cur = 1u64;
        for &byte in text {
            let base = usize::from(self.class[usize::from(byte)]) * 4;
            let m = &self.masks[base..base + 4];
            cur = ((cur & m[0]) << 1) | ((cur & m[1]) << 2) | (cur & m[2]) | ((cur & m[3]) >> 1);
            if cur == 0 {
                return false;
            }
        }
        cur & self.accept[0] != 0
    }

    /// The number of 64-bit words the automaton works on per byte of text (times four).
    /// A match costs `text.len() × 4 × words()` word operations at most.
    ///
    /// ```
    /// use terra_types::glob::{Glob, MAX_PATTERN_LEN};
    /// assert_eq!(Glob::new("map/*.tif")?.words(), 1);
    /// // The longest pattern stays within a fixed bound.
    /// let long = Glob::new(&"a/**/".repeat(MAX_PATTERN_LEN / 5))?;
    /// assert!(long.words() <= 2 * MAX_PATTERN_LEN / 64 + 1);
    /// # Ok::<(), terra_types::glob::GlobError>(())
    /// ```
    pub fn words(&self) -> usize {
        self.words
    }
}

#[cfg(test)]
mod tests;
