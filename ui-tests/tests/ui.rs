//! Compile-time behaviour of `network!`: every class of mistake is a
//! compile error pointing at the user's token (`tests/ui/fail`, each with
//! its expected `.stderr`), and valid declarations build and run
//! (`tests/ui/pass`). The pass cases also make trybuild do a full build
//! rather than `cargo check`, so const assertions are evaluated.
//!
//! Regenerate the expected output after a deliberate message change with
//! `TRYBUILD=overwrite cargo test --test ui`, then review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
