use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string that is sent on the wire but must never be printed: STS secrets and session
/// tokens.
///
/// `Debug` prints `Secret("***")`; there is no `Display`. The value is zeroed on drop (it is
/// held in a [`secrecy::SecretString`]). Use [`Secret::expose`] where the bytes are needed.
///
/// ```
/// use terra_types::Secret;
/// let s = Secret::new("wJalrXUtnFEMI/K7MDENG");
/// assert_eq!(format!("{s:?}"), r#"Secret("***")"#);
/// assert_eq!(s.expose(), "wJalrXUtnFEMI/K7MDENG");
/// ```
#[derive(Clone, Default)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret value.
    ///
    /// ```
    /// let s = terra_types::Secret::new("session-token");
    /// assert_eq!(format!("{s:?}"), r#"Secret("***")"#);
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The secret value itself. Keep it out of logs.
    ///
    /// ```
    /// let s = terra_types::Secret::from("session-token");
    /// assert_eq!(s.expose().len(), 13);
    /// ```
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(\"***\")")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

/// A string (a credential: keep it out of logs).
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "description": "A credential: keep it out of logs."})
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for Secret {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        any::<String>().prop_map(Self::new).boxed()
    }
}
