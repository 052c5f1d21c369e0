//! `examples/python`: a TerraAPI integration tested from Python against the standalone
//! binary through the control API (accounts, the clock, a 503, the request log), its
//! responses checked against the OpenAPI document. `cargo xtask test` provides the python.

mod common;

#[test]
fn the_python_example_passes() {
    let Some(python) = common::test_python() else {
        return;
    };
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/python");
    let (passed, text) = common::run_pytest(
        &python,
        example,
        &[("TERRA_MOCK_BIN", env!("CARGO_BIN_EXE_terra-mock"))],
    );
    assert!(passed, "examples/python failed:\n{text}");
    assert!(text.contains("3 passed"), "{text}");
}
