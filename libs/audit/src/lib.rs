//! What an auditor is handed, computed once for every channel that hands it over (`carelog audit`
//! and the console): the changes to a client's record between two points, and report rows as CSV,
//! JSON or aligned text. Pure: the callers read the views and trails through the RecordsService.

#![forbid(unsafe_code)]

pub mod diff;
pub mod table;
