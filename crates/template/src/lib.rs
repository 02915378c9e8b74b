//! Go-template `--format` strings as Docker users write them, evaluated over JSON.
