//! Volumes: named volumes under the data root, bind mounts, tmpfs.
