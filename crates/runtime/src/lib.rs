//! OCI runtime: turns a bundle (config.json + rootfs) into an isolated process.
