//! The model: interaction records with their pages (typed, in wire order), caller attributes,
//! content, variable sets and photos; tenants, environments and keys; instants; the
//! insertion-ordered map the vendors' samples keep.

pub mod ordered;
pub mod page;
pub mod record;
pub mod tenancy;
pub mod time;
