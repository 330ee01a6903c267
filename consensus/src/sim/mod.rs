//! Deterministic simulation harness (work in progress).
