//! The rules the service applies, as pure functions: the search window, caller-attribute
//! resolution, retention, and the public URL links are printed with.

pub mod attributes;
pub mod retention;
pub mod urls;
pub mod window;
