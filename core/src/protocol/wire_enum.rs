//! Enums that travel as one snake_case string (`"room_full"`), with their names written
//! once. Hand-written serde impls instead of the derived ones: the derived `Deserialize`
//! of an enum is an enum visitor per type, several hundred bytes each in the app's
//! wasm, where a string and a `match` do.

/// `wire_enum!(Type { Variant = "name", … })`: `Type::wire_name`, `Type::from_wire`,
/// and `Serialize`/`Deserialize` as that string. With `else Variant`, a name this
/// build does not know reads as `Variant` (a newer peer's value) instead of failing.
macro_rules! wire_enum {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? } $(else $other:ident)?) => {
        impl $ty {
            /// Every name on the wire, in declaration order.
            pub const WIRE_NAMES: &'static [&'static str] = &[$($name),+];

            pub fn wire_name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                    $($ty::$other => "unknown",)?
                }
            }

            pub fn from_wire(name: &str) -> Option<$ty> {
                match name {
                    $($name => Some($ty::$variant),)+
                    _ => None $(.or(Some($ty::$other)))?,
                }
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.wire_name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $ty::from_wire(&name).ok_or_else(|| {
                    serde::de::Error::unknown_variant(&name, $ty::WIRE_NAMES)
                })
            }
        }
    };
}

pub(crate) use wire_enum;
