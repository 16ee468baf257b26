//! What the service answers besides the stored flow: the Context Services interaction resource and
//! the interaction summary.

pub mod context_services;
pub mod summary;
