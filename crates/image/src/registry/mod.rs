//! Registry client (OCI distribution-spec): auth, manifests, pull, push.
