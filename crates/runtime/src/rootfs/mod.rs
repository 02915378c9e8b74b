//! The container root filesystem: mounts, devices, pivot_root, masked and read-only paths.
