//! The headers a caller names itself with when the server runs without tokens (`--allow-anonymous`,
//! local use only). With tokens, the caller is whoever the token says.

pub const ACTOR_HEADER: &str = "x-carelog-actor";
pub const ROLE_HEADER: &str = "x-carelog-role";
pub const NAME_HEADER: &str = "x-carelog-name";
