//! Image config + run options → OCI runtime spec, with Docker's defaults.
