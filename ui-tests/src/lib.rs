//! Nothing: the tests are in `tests/ui.rs` and the cases in `tests/ui/`.
