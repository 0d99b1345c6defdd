//! Closed sets of strings on the wire (actor types, sources, roles, …), each
//! defined once with its canonical spelling, case-insensitive parsing and the
//! list of allowed values that error messages quote.

#[macro_export]
#[doc(hidden)]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:tt),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// Case-insensitive (Unicode upper-casing, like the contract's
            /// `.upper()`); surrounding whitespace is not forgiven.
            pub fn parse(raw: &str) -> Option<$name> {
                let wanted = raw.to_uppercase();
                Self::ALL.iter().copied().find(|v| v.as_str().to_uppercase() == wanted)
            }

            /// The allowed values, for error messages: `"a, b, c"`.
            pub fn allowed() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw).ok_or_else(|| format!("unknown value {raw:?}: expected one of {}", Self::allowed()))
            }
        }
    };
}
