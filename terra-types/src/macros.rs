//! Declarative helpers for the wire's "open" enumerations: integer codes and string names
//! that the service may extend. Every generated enum keeps values it does not know in an
//! `Unknown` variant, so a newer server never breaks an older client.

/// An integer-coded enumeration (`code`/`from_code`, serde as a JSON number).
macro_rules! int_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $label:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A code this version of terra-types does not know, kept as received.
            Unknown(i64),
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const KNOWN: &'static [Self] = &[$(Self::$variant),+];

            /// The integer sent on the wire.
            ///
            /// ```
            #[doc = concat!("use terra_types::", stringify!($name), " as E;")]
            /// for v in E::KNOWN {
            ///     assert_eq!(E::from_code(v.code()), *v);
            /// }
            /// assert_eq!(E::from_code(-7).code(), -7, "unknown codes are kept");
            /// ```
            pub const fn code(self) -> i64 {
                match self {
                    $( Self::$variant => $value, )+
                    Self::Unknown(v) => v,
                }
            }

            /// Maps a wire integer to its variant (`Unknown` when not documented).
            ///
            /// ```
            #[doc = concat!("use terra_types::", stringify!($name), " as E;")]
            /// assert_eq!(E::from_code(-7), E::Unknown(-7));
            /// assert_eq!(E::from_code(E::KNOWN[0].code()), E::KNOWN[0]);
            /// ```
            pub const fn from_code(code: i64) -> Self {
                match code {
                    $( $value => Self::$variant, )+
                    other => Self::Unknown(other),
                }
            }

            /// Whether this value is one of the documented ones.
            ///
            /// ```
            #[doc = concat!("use terra_types::", stringify!($name), " as E;")]
            /// assert!(E::KNOWN.iter().all(|v| v.is_known()));
            /// assert!(!E::from_code(-7).is_known());
            /// ```
            pub const fn is_known(self) -> bool {
                !matches!(Self::from_code(self.code()), Self::Unknown(_))
            }
        }

        impl From<i64> for $name {
            fn from(code: i64) -> Self {
                Self::from_code(code)
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> i64 {
                value.code()
            }
        }

        impl $name {
            /// A short English label (`"unknown"` for unknown codes).
            ///
            /// ```
            #[doc = concat!("use terra_types::", stringify!($name), " as E;")]
            /// assert_eq!(E::from_code(-7).label(), "unknown");
            /// assert_eq!(E::from_code(-7).to_string(), "unknown (-7)");
            /// ```
            pub const fn label(self) -> &'static str {
                match self {
                    $( Self::$variant => $label, )+
                    Self::Unknown(_) => "unknown",
                }
            }
        }

        /// Shows the label and the code, e.g. `executing (3)`.
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{} ({})", self.label(), self.code())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i64(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <i64 as serde::Deserialize>::deserialize(d).map(Self::from_code)
            }
        }

        /// An integer; the known codes are listed (others are kept as they come).
        #[cfg(feature = "schema")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let known: Vec<String> = Self::KNOWN
                    .iter()
                    .map(|v| format!("{} {}", v.code(), v.label()))
                    .collect();
                schemars::json_schema!({
                    "type": "integer",
                    "description": format!("Known values: {}.", known.join(", ")),
                    "examples": Self::KNOWN.iter().map(|v| v.code()).collect::<Vec<_>>(),
                })
            }
        }

        #[cfg(test)]
        impl proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use proptest::prelude::*;
                prop_oneof![
                    3 => proptest::sample::select(Self::KNOWN),
                    1 => any::<i64>().prop_map(Self::from_code),
                ]
                .boxed()
            }
        }
    };
}

/// A string-named enumeration (serde as a JSON string). `$ci` selects whether parsing
/// ignores ASCII case (the wire has been seen to send `ali_oss` for `ALI_OSS`).
macro_rules! str_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident (case_insensitive = $ci:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A name this version of terra-types does not know, kept as received.
            Unknown(String),
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const KNOWN: &'static [Self] = &[$(Self::$variant),+];

            /// The string sent on the wire (the canonical spelling for known values).
            ///
            /// ```
            #[doc = concat!("use terra_types::", stringify!($name), " as E;")]
            /// for v in E::KNOWN {
            ///     assert_eq!(&E::parse(v.as_str()), v);
            /// }
            /// assert_eq!(E::parse("not documented").as_str(), "not documented");
            /// ```
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $value, )+
                    Self::Unknown(v) => v,
                }
            }

            /// Maps a wire string to its variant (`Unknown` when not documented).
            ///
            /// ```
            #[doc = concat!("use terra_types::", stringify!($name), " as E;")]
            /// assert_eq!(E::parse("not documented"), E::Unknown("not documented".into()));
            /// ```
            pub fn parse(s: &str) -> Self {
                $(
                    if (!$ci && s == $value) || ($ci && s.eq_ignore_ascii_case($value)) {
                        return Self::$variant;
                    }
                )+
                Self::Unknown(s.to_owned())
            }

            /// Whether this value is one of the documented ones.
            ///
            /// ```
            #[doc = concat!("use terra_types::", stringify!($name), " as E;")]
            /// assert!(E::KNOWN.iter().all(E::is_known));
            /// assert!(!E::parse("not documented").is_known());
            /// ```
            pub fn is_known(&self) -> bool {
                !matches!(Self::parse(self.as_str()), Self::Unknown(_))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::parse(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                Ok(Self::parse(&s))
            }
        }

        /// A string; the known values are listed (others are kept as they come).
        #[cfg(feature = "schema")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let known: Vec<&str> = Self::KNOWN.iter().map(|v| v.as_str()).collect();
                schemars::json_schema!({
                    "type": "string",
                    "description": format!("Known values: {}.", known.join(", ")),
                    "examples": known,
                })
            }
        }

        #[cfg(test)]
        impl proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use proptest::prelude::*;
                prop_oneof![
                    3 => proptest::sample::select(Self::KNOWN),
                    1 => "[A-Za-z_]{0,12}".prop_map(|s| Self::parse(&s)),
                ]
                .boxed()
            }
        }
    };
}

pub(crate) use int_enum;
pub(crate) use str_enum;
