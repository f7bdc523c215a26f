//! How events leave and re-enter the domain: an event type name, a schema version and a JSON
//! object of data — exactly what the store keeps in an envelope.
//!
//! ```
//! use carelog_domain::intake::{IntakeEvent, EpisodeClosed};
//! # use carelog_domain::types::*;
//! # let event: IntakeEvent = EpisodeClosed {
//! #     episode_id: EpisodeId::new_v4(),
//! #     closed_by: ClinicianId::new_v4(),
//! #     discharge_summary: NoteText::parse("Goals met.").unwrap(),
//! #     closed_at: chrono::Utc::now(),
//! # }.into();
//! let (kind, version, data) = (event.event_type(), event.schema_version(), event.to_data().unwrap());
//! let back = IntakeEvent::from_stored(kind, version, &data).unwrap();
//! assert_eq!(back, event);
//! ```

pub use crate::upcast::current_version;

/// Declares an aggregate's event enum from its variants (each a struct of the same name) and
/// the envelope codec around it, so the type names used in storage cannot drift from the enum.
macro_rules! event_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "type", content = "data")]
        pub enum $name {
            $(
                #[doc = concat!("See [`", stringify!($variant), "`].")]
                $variant($variant),
            )+
        }

        impl $name {
            /// Every event type name of this aggregate.
            pub const EVENT_TYPES: &'static [&'static str] = &[$(stringify!($variant)),+];

            /// Stored type name, e.g. `"ConsentGiven"`.
            pub fn event_type(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => stringify!($variant),)+
                }
            }

            /// Schema version of this event's data: its type's current version.
            pub fn schema_version(&self) -> u32 {
                $crate::upcast::current_version(self.event_type())
            }

            /// The event's data as a JSON object, for the envelope's `data`.
            pub fn to_data(&self) -> Result<serde_json::Value, serde_json::Error> {
                match self {
                    $(Self::$variant(e) => serde_json::to_value(e),)+
                }
            }

            /// Rebuilds an event from its envelope's `type`, `schema_version` and `data`; every
            /// value type is re-validated on the way in.
            pub fn from_stored(
                event_type: &str,
                schema_version: u32,
                data: &serde_json::Value,
            ) -> Result<Self, $crate::error::DecodeError> {
                use serde::Deserialize as _;
                if !Self::EVENT_TYPES.contains(&event_type) {
                    return Err($crate::error::DecodeError::UnknownType(event_type.to_owned()));
                }
                // Data stored under an older version is read forward to the current shape.
                let upcast = $crate::upcast::upcast(event_type, schema_version, data)?;
                let data: &serde_json::Value = &upcast;
                let wrap = |source| $crate::error::DecodeError::Data {
                    event_type: event_type.to_owned(),
                    source,
                };
                match event_type {
                    $(stringify!($variant) => $variant::deserialize(data).map(Self::$variant).map_err(wrap),)+
                    other => Err($crate::error::DecodeError::UnknownType(other.to_owned())),
                }
            }
        }

        $(
            impl From<$variant> for $name {
                fn from(e: $variant) -> Self {
                    Self::$variant(e)
                }
            }
        )+
    };
}

pub(crate) use event_enum;
