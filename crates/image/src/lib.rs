//! Images: content store, registry client, unpack, snapshots.

pub mod reference;
pub mod registry;
