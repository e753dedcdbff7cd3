//! Reading a message tagged by `"type"` without serde's internally tagged machinery.
//!
//! `#[serde(tag = "type")]` buffers every message into serde's private `Content` tree
//! before it knows the variant, and instantiates a second deserializer over that tree
//! for every variant: the largest piece of serde code in the app's wasm. Here the text
//! is read twice instead: once for the `type` field alone, then once more straight
//! into the variant that names, through an externally tagged copy of the enum that
//! [`tagged_enum!`] derives from the same variant list (so the two cannot drift). The
//! wire format is the enum's own; the copy only reads it.

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, EnumAccess, IntoDeserializer, VariantAccess, Visitor};
use serde::Deserialize;

/// Declares an enum tagged by `"type"` (its own attributes say so) and a second,
/// externally tagged enum `$by_tag` with the same variants, derived with
/// `#[serde(remote = ...)]` so that it deserializes straight into the first one: pass
/// its `deserialize` to [`parse`].
macro_rules! tagged_enum {
    (
        $(#[$attr:meta])*
        pub enum $name:ident { $($variants:tt)* }
        $(#[$by_tag_attr:meta])*
        enum $by_tag:ident;
    ) => {
        $(#[$attr])*
        pub enum $name { $($variants)* }

        #[derive(serde::Deserialize)]
        #[allow(dead_code)] // Only its derived `deserialize` is used.
        $(#[$by_tag_attr])*
        enum $by_tag { $($variants)* }
    };
}
pub(crate) use tagged_enum;

/// Parses `text`, a JSON object with a string field `type`, with `deserialize`: the
/// `deserialize` of an enum declared by [`tagged_enum!`]. Fields the variant does not
/// name (`type` among them) are ignored, as is everything but `type` for a unit variant.
pub(crate) fn parse<'de, T>(
    text: &'de str,
    deserialize: fn(ByTag<'de>) -> Result<T, serde_json::Error>,
) -> Result<T, serde_json::Error> {
    #[derive(Deserialize)]
    struct Tag<'a> {
        #[serde(rename = "type", borrow)]
        kind: Cow<'a, str>,
    }
    let tag: Tag = serde_json::from_str(text)?;
    deserialize(ByTag {
        tag: tag.kind,
        text,
    })
}

/// A message whose `type` has been read: a deserializer for an externally tagged enum
/// that offers `tag` as the variant and `text` as its fields.
pub(crate) struct ByTag<'de> {
    tag: Cow<'de, str>,
    text: &'de str,
}

impl<'de> de::Deserializer<'de> for ByTag<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("a tagged message is read as an enum"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

impl<'de> EnumAccess<'de> for ByTag<'de> {
    type Error = serde_json::Error;
    type Variant = Fields<'de>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Fields<'de>), Self::Error> {
        let tag: de::value::StrDeserializer<serde_json::Error> =
            self.tag.as_ref().into_deserializer();
        let variant = seed.deserialize(tag)?;
        Ok((variant, Fields(self.text)))
    }
}

/// The whole message, read as the fields of the variant its `type` named.
pub(crate) struct Fields<'de>(&'de str);

impl<'de> VariantAccess<'de> for Fields<'de> {
    type Error = serde_json::Error;

    fn unit_variant(self) -> Result<(), Self::Error> {
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, _: S) -> Result<S::Value, Self::Error> {
        Err(de::Error::custom(
            "tagged messages have no newtype variants",
        ))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("tagged messages have no tuple variants"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let mut json = serde_json::Deserializer::from_str(self.0);
        de::Deserializer::deserialize_struct(&mut json, "", fields, visitor)
    }
}
