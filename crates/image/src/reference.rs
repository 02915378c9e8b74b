//! Image references parsed as Docker parses them.
