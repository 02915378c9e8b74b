//! Engine: containers, networks, volumes, logs, state DB, monitor.
