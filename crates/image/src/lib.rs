//! Images: content store, registry client, unpack, snapshots.
//!
//! [`Store`] keeps blobs (digest-verified), image records (SQLite, shared with the
//! engine through [`db::open`]), unpacked layers and container root filesystems.
//! [`load`], [`save`] and [`import`] read and write image archives.

pub mod archive;
pub mod db;
pub mod digest;
mod error;
pub mod inspect;
pub mod names;
pub mod overlay;
pub mod reference;
pub mod registry;
mod store;
pub mod unpack;

pub use archive::{import, load, save, ArchiveFormat, ImportOptions};
pub use error::ImageError;
pub use store::{
    BlobWriter, CommitOptions, FileLock, ImageRecord, LayerInfo, RemovedItem, RootfsLayout, Store,
};
