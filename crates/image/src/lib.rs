//! Images: content store, registry client, unpack, snapshots.
