//! Fault injection: scripted rules ("the next N calls to this route answer 503") and random
//! faults from a seed. Applied before authentication, like a flaky network or gateway.

use std::time::Duration;

use rand::{RngExt, SeedableRng, rngs::StdRng};

use terra_types::glob::{Glob, GlobError};

use crate::config::{FaultScope, RandomFaults};

/// What happens to a request hit by a fault.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use terra_mock::{Fault, FaultRule, TerraMock};
/// let mock = TerraMock::builder().build()?;
/// // The create happens, but the caller sees a 502: did it work? (It did.)
/// mock.inject(FaultRule::on("POST", "/terra-rescon-be/v2/jobs").times(1).fault(Fault::StatusAfterProcessing { status: 502 }));
/// let (status, _) = mock.call("POST", "/jobs", r#"{"name":"survey"}"#).await;
/// assert_eq!(status, 502);
/// assert_eq!(mock.stats(mock.app_key()).jobs, 1);
/// // Other faults: a slow answer, a reset connection, any TerraAPI code.
/// let _ = [
///     Fault::Delay(Duration::from_secs(2)),
///     Fault::Reset,
///     Fault::ApiError { status: 200, code: 701, message: "authentication error".into() },
/// ];
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer this status without processing (a gateway error). For 429 and 503,
    /// `retry_after` adds `Retry-After` (seconds).
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
    /// Process the request, then answer this status instead of the real response (the
    /// work happened but the caller cannot know).
    StatusAfterProcessing {
        /// HTTP status.
        status: u16,
    },
    /// Wait, then process normally.
    Delay(Duration),
    /// Close the connection without answering and without processing.
    Reset,
    /// Process the request, then close the connection without answering.
    ResetAfterProcessing,
    /// Answer a TerraAPI envelope with this code and message, without processing (for
    /// codes the emulator does not produce by itself: 701, 102000, unknown ones).
    ApiError {
        /// HTTP status of the answer.
        status: u16,
        /// `result.code`.
        code: i64,
        /// `result.msg`.
        message: String,
    },
}

/// A scripted fault: which requests it matches and how many times it fires.
///
/// ```
/// use terra_mock::{Fault, FaultRule};
/// // The next two job creations get a 503 with Retry-After: 1.
/// let rule = FaultRule::on("POST", "/terra-rescon-be/v2/jobs")
///     .times(2)
///     .fault(Fault::Status { status: 503, retry_after: Some(1) });
/// # let _ = rule;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub(crate) method: Option<String>,
    /// The path pattern as given, compiled (without its leading and trailing `/`), or why
    /// it was refused (reported by [`FaultRule::check`] and when the rule is added).
    pub(crate) path: Option<(String, Result<Glob, GlobError>)>,
    pub(crate) scope: FaultScope,
    pub(crate) remaining: Option<usize>,
    pub(crate) fault: Fault,
}

impl FaultRule {
    /// Matches every request (of `scope`, see [`FaultRule::scope`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{FaultRule, TerraMock};
    /// let mock = TerraMock::builder().build()?;
    /// mock.inject(FaultRule::any().times(1)); // a 500 by default
    /// assert_eq!(mock.call("GET", "/jobs", "").await.0, 500);
    /// assert_eq!(mock.call("GET", "/jobs", "").await.0, 200);
    /// # Ok(()) }
    /// ```
    pub fn any() -> Self {
        Self {
            method: None,
            path: None,
            scope: FaultScope::All,
            remaining: None,
            fault: Fault::Status {
                status: 500,
                retry_after: None,
            },
        }
    }

    /// Matches one method and path. The path is a glob of [`terra_types::glob`], matched
    /// against the request's path without its query (leading and trailing `/` do not
    /// count): `*` matches within one segment (`/terra-rescon-be/v2/jobs/*/start`,
    /// `/bucket/*.jpg`) and a `**` segment any number of segments, the rest of the pattern
    /// still matching what follows (`/terra-rescon-be/**/start`). A method of `*` (or
    /// empty) matches every method; a path of `**` every path. The pattern is compiled
    /// here, once; one longer than [`terra_types::glob::MAX_PATTERN_LEN`] bytes, or
    /// malformed, is refused when the rule is added (see [`FaultRule::check`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{Fault, FaultRule, TerraMock};
    /// let mock = TerraMock::builder().build()?;
    /// mock.inject(FaultRule::on("GET", "/terra-rescon-be/v2/jobs/*").fault(Fault::Status { status: 503, retry_after: Some(2) }));
    /// assert_eq!(mock.call("GET", "/jobs/abc", "").await.0, 503);
    /// assert_eq!(mock.call("GET", "/jobs", "").await.0, 200, "one segment only");
    /// mock.inject(FaultRule::on("*", "/terra-rescon-be/v2/jobs").times(1).fault(Fault::Reset));
    /// assert_eq!(mock.call("POST", "/jobs", r#"{"name":"x"}"#).await.0, 500, "a reset, any method");
    /// # Ok(()) }
    /// ```
    pub fn on(method: &str, path: &str) -> Self {
        let any_method = method.is_empty() || method == "*";
        Self {
            method: (!any_method).then(|| method.to_ascii_uppercase()),
            path: (path != "**").then(|| (path.to_owned(), Glob::new(path.trim_matches('/')))),
            ..Self::any()
        }
    }

    /// Whether the rule's path pattern compiled; the error says why not.
    ///
    /// ```
    /// use terra_mock::FaultRule;
    /// assert!(FaultRule::on("GET", "/terra-rescon-be/**/start").check().is_ok());
    /// let long = format!("/{}x", "**/".repeat(20_000));
    /// let err = FaultRule::on("GET", &long).check().unwrap_err();
    /// assert!(err.to_string().contains("at most 1024 bytes"));
    /// ```
    pub fn check(&self) -> Result<(), GlobError> {
        match &self.path {
            Some((_, Err(e))) => Err(e.clone()),
            _ => Ok(()),
        }
    }

    /// The path pattern as given, if the rule has one.
    pub(crate) fn path_pattern(&self) -> Option<&str> {
        self.path.as_ref().map(|(p, _)| p.as_str())
    }

    /// Restricts the rule to the API or to the storage endpoints.
    ///
    /// ```
    /// use terra_mock::{Fault, FaultRule, FaultScope};
    /// // Every storage request is slow.
    /// let rule = FaultRule::any()
    ///     .scope(FaultScope::Storage)
    ///     .fault(Fault::Delay(std::time::Duration::from_millis(500)));
    /// # let _ = rule;
    /// ```
    pub fn scope(mut self, scope: FaultScope) -> Self {
        self.scope = scope;
        self
    }

    /// Fires for the next `n` matching requests only (default: forever).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{Fault, FaultRule, TerraMock};
    /// let mock = TerraMock::builder().build()?;
    /// mock.inject(FaultRule::any().times(2).fault(Fault::Status { status: 429, retry_after: Some(1) }));
    /// let statuses = [
    ///     mock.call("GET", "/jobs", "").await.0,
    ///     mock.call("GET", "/jobs", "").await.0,
    ///     mock.call("GET", "/jobs", "").await.0,
    /// ];
    /// assert_eq!(statuses, [429, 429, 200]);
    /// # Ok(()) }
    /// ```
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = Some(n);
        self
    }

    /// What happens.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{Fault, FaultRule, TerraMock};
    /// let mock = TerraMock::builder().build()?;
    /// mock.inject(FaultRule::on("POST", "/terra-rescon-be/v2/jobs").fault(Fault::ApiError {
    ///     status: 200,
    ///     code: 102000,
    ///     message: "service invocation failure".into(),
    /// }));
    /// let (_, body) = mock.call("POST", "/jobs", r#"{"name":"survey"}"#).await;
    /// assert_eq!(body["result"]["code"], 102000);
    /// # Ok(()) }
    /// ```
    pub fn fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }

    fn matches(&self, method: &str, path: &str, is_api: bool) -> bool {
        let in_scope = match self.scope {
            FaultScope::All => true,
            FaultScope::Api => is_api,
            FaultScope::Storage => !is_api,
        };
        in_scope
            && self.remaining != Some(0)
            && self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path
                .as_ref()
                .is_none_or(|(_, p)| p.as_ref().is_ok_and(|g| g.matches(path.trim_matches('/'))))
    }
}

/// At most this many scripted rules are in force at once: every request is matched
/// against each of them.
pub(crate) const MAX_RULES: usize = 1_000;

/// Scripted rules plus an optional random generator.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Scripted rules with their ids, first match wins.
    rules: Vec<(u64, FaultRule)>,
    next_id: u64,
    random: Option<(RandomFaults, StdRng)>,
}

impl Faults {
    pub(crate) fn new(random: Option<RandomFaults>) -> Self {
        let mut f = Self::default();
        f.set_random(random);
        f
    }

    /// Adds a rule; returns its id. Refused when its path pattern did not compile, or
    /// when [`MAX_RULES`] rules are in force already.
    pub(crate) fn push(&mut self, rule: FaultRule) -> Result<u64, String> {
        rule.check().map_err(|e| e.to_string())?;
        if self.rules.len() >= MAX_RULES {
            return Err(format!(
                "{MAX_RULES} fault rules are in force already: delete some (DELETE \
                 /_terra-mock/v1/faults/{{id}}, or all with DELETE /_terra-mock/v1/faults) \
                 before adding more"
            ));
        }
        self.next_id += 1;
        self.rules.push((self.next_id, rule));
        Ok(self.next_id)
    }

    /// The scripted rules with their ids (a rule that fired its count is gone).
    pub(crate) fn rules(&self) -> Vec<(u64, FaultRule)> {
        self.rules.clone()
    }

    /// Removes one rule; `false` if there is none with that id.
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|(i, _)| *i != id);
        self.rules.len() != before
    }

    /// The random-fault settings in force.
    pub(crate) fn random(&self) -> Option<RandomFaults> {
        self.random.as_ref().map(|(r, _)| r.clone())
    }

    pub(crate) fn set_random(&mut self, random: Option<RandomFaults>) {
        self.random = random.map(|r| {
            let rng = StdRng::seed_from_u64(r.seed);
            (r, rng)
        });
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
        self.random = None;
    }

    /// The fault for this request, if any. Scripted rules win over random faults.
    pub(crate) fn pick(&mut self, method: &str, path: &str, is_api: bool) -> Option<Fault> {
        if let Some((_, rule)) = self
            .rules
            .iter_mut()
            .find(|(_, r)| r.matches(method, path, is_api))
        {
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            let fault = rule.fault.clone();
            self.rules.retain(|(_, r)| r.remaining != Some(0));
            return Some(fault);
        }
        let (cfg, rng) = self.random.as_mut()?;
        let in_scope = match cfg.scope {
            FaultScope::All => true,
            FaultScope::Api => is_api,
            FaultScope::Storage => !is_api,
        };
        if !in_scope {
            return None;
        }
        let roll: f64 = rng.random();
        let after = rng.random_bool(0.5);
        let mut edge = cfg.error_5xx;
        if roll < edge {
            let status = [500, 502, 503][rng.random_range(0..3)];
            return Some(if after {
                Fault::StatusAfterProcessing { status }
            } else {
                Fault::Status {
                    status,
                    retry_after: None,
                }
            });
        }
        edge += cfg.too_many_requests;
        if roll < edge {
            return Some(Fault::Status {
                status: 429,
                retry_after: Some(1),
            });
        }
        edge += cfg.reset;
        if roll < edge {
            return Some(if after {
                Fault::ResetAfterProcessing
            } else {
                Fault::Reset
            });
        }
        edge += cfg.latency;
        if roll < edge {
            return Some(Fault::Delay(Duration::from_millis(cfg.latency_ms)));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_paths_are_globs_of_the_path() {
        let hit = |p: &str, path: &str| FaultRule::on("*", p).matches("GET", path, true);
        assert!(hit(
            "/terra-rescon-be/v2/jobs/*/start",
            "/terra-rescon-be/v2/jobs/abc/start"
        ));
        assert!(!hit(
            "/terra-rescon-be/v2/jobs/*/start",
            "/terra-rescon-be/v2/jobs/abc/stop"
        ));
        assert!(hit("/terra-rescon-be/**", "/terra-rescon-be/v2/files"));
        assert!(!hit(
            "/terra-rescon-be/v2/jobs",
            "/terra-rescon-be/v2/jobs/x"
        ));
        assert!(hit(
            "/terra-rescon-be/**/start",
            "/terra-rescon-be/v2/jobs/abc/start"
        ));
        assert!(!hit(
            "/terra-rescon-be/**/start",
            "/terra-rescon-be/v2/resources"
        ));
        assert!(hit(
            "/terra-mock-s3/**/*.jpg",
            "/terra-mock-s3/1/tmp/a/b.jpg"
        ));
        assert!(
            hit("terra-rescon-be/v2/jobs/", "/terra-rescon-be/v2/jobs"),
            "slashes at the ends do not count"
        );
        assert!(hit("**", "/anything/at/all"));
    }

    /// What stalled a worker for seconds, or overflowed its stack, with the recursive
    /// matcher: a chain of `**` against a long path; and a pattern too long to compile.
    #[test]
    fn no_pattern_stalls_the_matcher() {
        let started = std::time::Instant::now();
        let chain = format!("/{}x", "**/".repeat(12));
        let path = format!("/{}", "a/".repeat(200));
        assert!(!FaultRule::on("GET", &chain).matches("GET", &path, true));
        let long = format!("/{}x", "**/".repeat(300));
        let deep = "a/".repeat(4_000);
        assert!(!FaultRule::on("GET", &long).matches("GET", &deep, true));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let refused = FaultRule::on("GET", &format!("/{}x", "**/".repeat(20_000)));
        assert!(refused.check().is_err());
        assert!(
            !refused.matches("GET", &deep, true),
            "a refused pattern matches nothing"
        );
    }

    #[test]
    fn scripted_rules_fire_n_times() {
        let mut f = Faults::default();
        f.push(FaultRule::on("GET", "/a").times(2).fault(Fault::Reset))
            .unwrap();
        assert_eq!(f.pick("GET", "/a", true), Some(Fault::Reset));
        assert_eq!(f.pick("POST", "/a", true), None);
        assert_eq!(f.pick("GET", "/a", true), Some(Fault::Reset));
        assert_eq!(f.pick("GET", "/a", true), None);
    }

    #[test]
    fn random_faults_are_reproducible_and_near_their_rates() {
        let cfg = RandomFaults {
            seed: 7,
            error_5xx: 0.05,
            too_many_requests: 0.05,
            ..Default::default()
        };
        let run = || {
            let mut f = Faults::new(Some(cfg.clone()));
            (0..10_000)
                .map(|_| f.pick("GET", "/x", true))
                .collect::<Vec<_>>()
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b);
        let hits = a.iter().filter(|x| x.is_some()).count();
        assert!(
            (800..1200).contains(&hits),
            "{hits} faults in 10 000 at 10 %"
        );
    }
}
