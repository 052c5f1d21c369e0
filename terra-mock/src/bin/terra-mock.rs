//! `terra-mock`: the emulator as a standalone server.
//!
//! ```text
//! terra-mock serve --addr 127.0.0.1:8080
//! terra-mock serve --config mock.toml --provider oss --token-lifetime 60
//! terra-mock print-config > mock.toml      # every setting with its default
//! ```

fn main() -> std::process::ExitCode {
    give_memory_back();
    terra_mock::cli::main_from("terra-mock", std::env::args_os().skip(1))
}

/// glibc raises its mmap threshold to the largest block freed (up to 32 MiB), and from then
/// on the request-body buffers of big uploads come from the per-thread arenas, which keep
/// what they once held: a server that took 3.2 GiB of uploads stayed at three times its
/// idle memory. Fixed thresholds (the dynamic adjustment stops once they are set) keep
/// blocks above 128 KiB in their own mappings, unmapped when freed, and trim the arenas'
/// tops above 128 KiB (`cargo xtask bench mock`, `rss`, measures it).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn give_memory_back() {
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: mallopt only sets parameters of glibc's allocator, which it reads under its
    // own locks; called first thing in main, before any other thread exists.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        mallopt(M_TRIM_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_memory_back() {}
