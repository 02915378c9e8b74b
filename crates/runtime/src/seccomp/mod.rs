//! Seccomp: compile the spec's filter, install it, hand NOTIFY listeners to their agent.
